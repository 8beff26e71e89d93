@0xd8b6a3c1e5f20477;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("manta::schema");

using Task = import "task.capnp";

# Cluster membership. A node (or a driver) joins the head's cluster registry
# with its NodeInfo and gets a ClusterView back; the registry then pushes one
# NodeInfo per node that joins and the index of each node that leaves.

struct NodeInfo {
  index @0 :UInt16;
  # Assigned by the head at join; also the high 16 bits of every object id
  # the node creates, so ids never collide across the cluster.

  host @1 :Text;
  port @2 :UInt16;
  # Where the node's node_manager actor is published (CAF middleman).

  pid @3 :UInt32;
  numCpus @4 :Float64;
  resources @5 :List(Task.Resource);

  role @6 :Role;
  enum Role {
    worker @0;
    # Runs tasks: the user's binary started with --manta-worker.
    driver @1;
    # Submits tasks and owns their results: a program calling init with an
    # address. Drivers receive membership updates and run no remote tasks.
  }

  dataPort @7 :UInt16;
  # Where the node serves the bytes of the objects it holds over plain TCP
  # (runtime/manta/net/object_transfer.hpp), on `host`; 0 if it does not
  # (then they travel as ObjectChunk messages through CAF).

  build @8 :Build;
  # What this process's binary registered (functions, actor classes, actor
  # constructors) with the layouts of their types: the head refuses a member
  # whose build disagrees with a live member's on something both have.

  jobId @9 :Text;
  # Drivers: the job this driver is (docs/cluster.md, "Jobs"). Empty at a
  # first join unless `manta job submit` registered the job with the head
  # first (MANTA_JOB_ID); the head then hands out or accepts the id, and a
  # driver joining again sends the id it got. Empty for workers.
}

struct Build {
  hash @0 :UInt64;
  # Of every entry: equal hashes, equal builds (as far as Manta can see).

  entries @1 :List(BuildEntry);
}

struct BuildEntry {
  key @0 :Text;
  # What it is, as messages name it: "function 'scale'", "actor class
  # 'counter'", "constructor of actor class 'counter' taking (int)".

  hash @1 :UInt64;
  # Of key, signature and parts.

  signature @2 :Text;
  # The type as the compiler names it (demangled).

  parts @3 :List(Text);
  # "label: layout" lines, e.g. "argument 1: point{int32, float32}",
  # "result: float64", "method incr: (int32) -> int32".
}

struct ClusterView {
  yourIndex @0 :UInt16;
  nodes @1 :List(NodeInfo);
  # The worker nodes alive when the view was taken.

  yourJob @2 :Text;
  # A driver's job id, as the head recorded it (empty for workers).
}

struct BundleReservation {
  # Placement groups across nodes (docs/cluster.md, "Placement groups across
  # nodes"): (bprepare, token, BundleReservation) owner -> a node's
  # node_manager, answered (bool, why): take the sum of these bundles of
  # group `group` from the node's free resources now, or say why not. The
  # owner then sends (bcommit, token, group) or (brelease, token, group).
  group @0 :UInt64;
  # The group's id (an object id of the owner: its hex names the bundle
  # resources, "CPU_group_<index>_<hex>").
  owner @1 :UInt16;
  # The owner's node index: its groups are released if it leaves.
  bundles @2 :List(Bundle);

  struct Bundle {
    index @0 :UInt32;
    resources @1 :List(Task.Resource);
    # CPUs as "CPU", like the other resources.
  }
}
