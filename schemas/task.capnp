@0xc3a1f0d27b9e4a61;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("manta::schema");

# Tasks crossing nodes. The owner (the process that submitted the task) sends
# a TaskSpec to the node manager of the node it picked; that node runs the
# function found by name and answers with a TaskResult. Both travel as the
# bytes of one Cap'n Proto message inside a CAF message
# (see docs/cluster.md, "Protocol").

struct Resource {
  name @0 :Text;
  amount @1 :Float64;
}

struct TaskSpec {
  taskId @0 :UInt64;
  # Id of the result object, fixed by the owner at submission. The node that
  # runs the task keeps a large result under this id.

  functionName @1 :Text;
  # The name given to MANTA_REMOTE; the receiving binary looks it up.

  signature @2 :Text;
  # The function's type as the compiler names it (std::type_info::name()):
  # a node whose function of that name has another type refuses the task.

  name @3 :Text;
  # The task's display name (the `.name(...)` option or the function name).

  args @4 :List(Data);
  # Every argument, encoded with Manta's codec (raw bytes for contiguous
  # trivially copyable containers, CAF's binary_serializer otherwise), in
  # parameter order. Object arguments are resolved by the owner first, so a
  # spec is self-contained: it is also the lineage that rebuilds a lost
  # result.

  numCpus @5 :Float64;
  resources @6 :List(Resource);
  # What the task holds while it runs (custom resources, CPUs apart).

  maxRetries @7 :Int32;
  retryExceptions @8 :Bool;
  # Retry policy for exceptions thrown by the function. The owner holds the
  # one budget of `maxRetries` for the task's whole life and runs every
  # attempt: the receiving node runs the task once and says in its
  # TaskFailure whether the policy covers the failure (`retryable`).

  attempt @9 :UInt32;
  # 1 for the first dispatch, counting resubmissions after node failures
  # and rebuilds of lost results.

  actorId @10 :UInt64;
  # 0 for a task. Otherwise this is a call of method `functionName` on the
  # actor the owner created with this id (an ActorSpec, actor.capnp) on the
  # receiving node; `signature` is then the method's type. Calls of one
  # actor run in the order their specs arrive.

  argRefs @11 :List(ArgRef);
  # Arguments not inlined in `args` (whose entry is then empty): large
  # objects the receiving node reads from the node holding them over that
  # node's raw data path (node.capnp, dataPort), or finds in its own store.

  layoutHash @12 :UInt64;
  # The hash of the layouts of the function's (or method's) parameter and
  # result types in the sender's build (runtime/manta/core/type_layout.hpp):
  # a node whose function of that name and signature lays its types out
  # differently (a struct's fields reordered, same size) refuses the task
  # instead of decoding one layout as the other. 0: not given.

  retryExceptionTypes @13 :List(Text);
  # With retryExceptions false: only exceptions of these types (their
  # mangled names, found in the same binary) are retried.

  jobId @14 :Text;
  # The job of the driver that owns the task (the head's id): what the
  # receiving node's state API, metrics and log prefixes show for it.

  codeSearchPath @15 :List(Text);
  # The job's code search path (docs/cluster.md, "Jobs"): shared libraries,
  # or folders of them, holding the function; the receiving node loads them
  # once and looks the function up among what they registered. Empty: the
  # receiving binary's own functions.

  itemWindow @16 :UInt64;
  # A streaming generator's back pressure (generator.hpp,
  # `generator_backpressure`): how many of its items may be yielded and not
  # yet read by the owner; the producer waits for the owner's `genack` past
  # that. 0: no limit.
}

struct ArgRef {
  position @0 :UInt32;
  # Which argument (index into `args`).

  objectId @1 :UInt64;
  node @2 :UInt16;
  host @3 :Text;
  dataPort @4 :UInt16;
  # The node holding the encoded object and where it serves it.

  size @5 :UInt64;
  # The encoded size.

  copies @6 :List(Holder);
  # Other nodes holding the object (copies readers cached and reported to
  # its owner, and readers still reading it, which serve the chunks they
  # have). The reader splits its chunks across `node` and these, and
  # leaves out any that fails.
}

struct Holder {
  node @0 :UInt16;
  host @1 :Text;
  dataPort @2 :UInt16;
}

enum ErrorKind {
  # Which of Manta's errors a TaskFailure is: the receiver raises the class
  # of that kind (runtime/manta/core/error_kind.hpp lists them, in this
  # order; wire_result.cpp checks the two against each other when it compiles).
  # A code the receiver does not know (a newer or hostile peer) fails the
  # task with a manta::error naming the code.

  taskError @0;
  # The code threw an exception that is not one of Manta's listed errors
  # (the user's own, or a subclass of manta::error): typeName names it.
  # Also what a peer that sends no kind means.

  generic @1;                  # manta::error itself
  getTimeout @2;               # manta::get_timeout_error
  taskCancelled @3;            # manta::task_cancelled_error
  infeasibleTask @4;           # manta::infeasible_task_error
  actorDied @5;                # manta::actor_died_error
  objectLost @6;               # manta::object_lost_error
  objectStoreFull @7;          # manta::object_store_full_error
  outOfMemory @8;              # manta::out_of_memory_error
  nodeDied @9;                 # manta::node_died_error
  notInitialized @10;          # manta::not_initialized_error
  unknownFunction @11;         # manta::unknown_function_error
  invalidArgument @12;         # manta::invalid_argument_error
  actorExists @13;             # manta::actor_exists_error
  actorNotFound @14;           # manta::actor_not_found_error
  pendingCallsLimit @15;       # manta::pending_calls_limit_error
  queueEmpty @16;              # manta::queue_empty_error
  queueFull @17;               # manta::queue_full_error
  placementGroupInfeasible @18; # manta::placement_group_infeasible_error
  placementGroupRemoved @19;   # manta::placement_group_removed_error
  placementGroupNotFound @20;  # manta::placement_group_not_found_error
  ownerDied @21;               # manta::owner_died_error (an objectLost whose owner is gone)
}

struct TaskFailure {
  typeName @0 :Text;
  # For kind taskError: the exception's type, demangled (e.g.
  # "std::domain_error"). Empty for Manta's own kinds: the kind says it.

  message @1 :Text;
  # The exception's what() (for Manta's own kinds, the whole text).

  taskName @2 :Text;
  node @3 :Text;
  # The task and the node it failed on.

  kind @4 :ErrorKind;

  retryable @5 :Bool;
  # The task's retry policy covers this failure (its code threw an
  # exception that retryExceptions names, or the memory monitor stopped
  # it): the owner runs it again while its maxRetries last. A node never
  # runs another node's task twice itself, so attempts are counted once.
}

struct TaskResult {
  taskId @0 :UInt64;
  node @1 :Text;
  # The node that ran the task, e.g. "node-2 (pid 4242)".

  union {
    inline @2 :Data;
    # The encoded value of a small result.

    stored @3 :UInt64;
    # A large result stays on the node that made it; this is its encoded
    # size. The owner fetches it in ObjectChunk messages (object.capnp).

    failure @4 :TaskFailure;
    # The function threw (after its own retries), or the node could not run
    # it (unknown function, mismatched signature, undecodable argument).
  }
}

struct Batch {
  items @0 :List(Data);
  # Several encoded TaskSpecs (owner -> node) or TaskResults (node ->
  # owner) in one CAF message: a burst of small tasks costs one message,
  # one wake-up and one socket write per burst instead of per task.
}

struct LogLine {
  taskId @0 :UInt64;
  # The task that printed it (its result id, as in its TaskSpec).

  toStderr @1 :Bool;
  # Written to std::cerr (else std::cout).

  text @2 :Text;
  # The line without its newline or prefix.
}

struct LogBatch {
  # Lines that tasks sent by an owner printed on the node running them, on
  # their way to that owner, oldest first; sent every ~100 ms while they
  # print, and always before the tasks' TaskResults.

  node @0 :Text;
  # The node that ran the tasks, e.g. "node-2 (pid 4242)".

  lines @1 :List(LogLine);

  dropped @2 :UInt64;
  # Lines this node dropped since its last batch to this owner because
  # they came faster than they could be sent.
}

struct TaskQueue {
  # Work stealing and the owner's view of its tasks queued on a worker
  # (docs/cluster.md, "Queued tasks and work stealing"). Carried three ways:
  # (tqueue, token, TaskQueue) worker -> owner: `queued` are tasks of the
  # owner that found no free resources there and wait in its queue,
  # `started` are queued ones that have started since;
  # (steal, token, TaskQueue) owner -> worker: give back at most `limit` of
  # the tasks in `queued` (newest first) that have not started;
  # (stolen, token, TaskQueue) worker -> owner: `queued` lists those it gave
  # back (they will not run there).

  queued @0 :List(UInt64);
  started @1 :List(UInt64);
  limit @2 :UInt32;
}
