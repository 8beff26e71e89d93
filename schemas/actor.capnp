@0xd4b2c86e1f3a5097;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("manta::schema");

using Task = import "task.capnp";

# Actors placed on other nodes. The owner (the process that created the
# actor) sends an ActorSpec to the node manager of the node it picked; that
# node builds the instance from the class and constructor found by name and
# answers at once (before the constructor has run) with an ActorCreated.
# Method calls then travel as TaskSpecs whose actorId names the actor, and
# their results as TaskResults (task.capnp). See docs/cluster.md, "Actors".

struct ActorSpec {
  actorId @0 :UInt64;
  # Chosen by the owner; unique among the owner's actors (and, with the
  # owner's node index in its top bits, in the cluster).

  className @1 :Text;
  # The class as written in MANTA_ACTOR; the receiving binary looks it up.

  constructorKey @2 :Text;
  # Which constructor, as the compiler names the argument types it takes
  # (std::type_info::name() of the constructor's instantiation): a node
  # whose binary never instantiated it refuses the spec.

  name @3 :Text;
  # The actor's `.name(...)`, for messages and logs ("counter 'c1'").

  args @4 :List(Data);
  # The constructor's arguments, encoded like a task's.

  numCpus @5 :Float64;
  resources @6 :List(Task.Resource);
  # What the actor holds for its life on the receiving node.

  maxRestarts @7 :Int32;
  # Restarts left (-1: without limit) after a crash on that node.

  maxTaskRetries @8 :Int32;
  maxConcurrency @9 :Int32;
  # 0: the class's default (1, or 1000 for async actors).

  restarts @10 :Int32;
  # Restarts so far (on other nodes too): `was_restarted()` is true above 0.

  retryExceptions @11 :Bool;
  retryExceptionTypes @12 :List(Text);
  # Which exceptions thrown by a method re-run the call (up to
  # maxTaskRetries times), as TaskSpec's.

  detached @13 :Bool;
  # lifetime_detached(): the receiving node keeps the actor when its owner's
  # connection closes (the owner died or exited); only a kill ends it.

  jobId @14 :Text;
  # The job of the owner that created it (the head's id).

  codeSearchPath @15 :List(Text);
  # The job's code search path holding the class, as in a TaskSpec.
}

struct ActorCreated {
  actorId @0 :UInt64;
  error @1 :Text;
  # Empty if the actor was created; otherwise why not (unknown class or
  # constructor, a mismatched binary, resources the node lacks).
}
