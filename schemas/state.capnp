@0xf7bb24b2455b60b5;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("manta::schema");

using Task = import "task.capnp";

# The head's dashboard asks every member (worker or driver) for its state
# with a StateQuery and merges the NodeState answers (docs/observability.md,
# "Cluster dashboard"). The numbers the head adds up are fields; the records
# (tasks, actors, objects) travel as the JSON the node's own state API
# serves, one text per record, so the head passes them through without
# knowing their fields and the page reads the same records from the head as
# from a node.

struct StateQuery {
  sections @0 :UInt32;
  # Bit set of what to include besides the summary: 1 tasks, 2 actors,
  # 4 objects, 8 timeline events, 16 the memory table's text, 32 the
  # node's Prometheus text (its /metrics), 64 the samples of the last
  # minutes (series).

  filter @1 :List(Filter);
  # Applies to the records of the sections asked for, as `list_filter`.
  limit @2 :UInt32;
  # At most this many records per section (0: no limit).
  newest @4 :UInt32;
  # When non-zero: only the newest this many task records (by submission)
  # and timeline runs (by start).
  forward @3 :Text;
  # A request of the node's own state API ("/api/log_lines?search=x",
  # "/api/task?id=ID") that the node answers in NodeState.forwarded: the
  # head's logs view and detail page ask every member this way.

  struct Filter {
    key @0 :Text;
    value @1 :Text;
  }
}

struct NodeState {
  name @0 :Text;
  # "node-2 (pid 4242)": what the node's records name in their `node`.
  role @1 :Text;
  # "worker" or "driver".
  pid @2 :UInt32;
  index @3 :UInt16;

  total @4 :List(Task.Resource);
  available @5 :List(Task.Resource);
  queuedTasks @6 :UInt64;
  executorThreads @7 :UInt64;

  taskCounts @8 :List(UInt64);
  # PENDING_ARGS, WAITING_FOR_RESOURCES, QUEUED_IN_ACTOR, RUNNING, FINISHED,
  # FAILED, CANCELLED: live ones, and the ended ones since the node started.
  actors @9 :UInt64;
  objects @10 :UInt64;
  bytesInMemory @11 :UInt64;
  bytesSpilled @12 :UInt64;
  budgetBytes @13 :UInt64;

  tasks @14 :List(Text);
  actorRecords @15 :List(Text);
  objectRecords @16 :List(Text);
  # JSON objects. Only what this node runs, hosts or stores: a driver's
  # record of a task or actor placed on a worker is left to that worker.
  timelineEvents @17 :Text;
  # The node's Chrome trace events (without the enclosing array).
  memoryText @18 :Text;
  metricsText @19 :Text;
  # What the node's /metrics serves, for the head's aggregate /metrics.
  dashboard @20 :Text;
  # Where the node's own dashboard (and /metrics) listens, "HOST:PORT";
  # empty without one. The head's /api/prometheus_sd lists these.

  series @21 :List(SeriesSample);
  # The node's samples, oldest first (runtime/manta/observe/series.hpp).
  forwarded @22 :Text;
  forwardedStatus @23 :UInt16;
  # The node's answer to StateQuery.forward (its body and HTTP status);
  # empty and 0 when nothing was forwarded.
}

# One sample a second of a node, for the dashboard's graphs.
struct SeriesSample {
  timeMs @0 :Int64;
  cpuPercent @1 :Float64;
  machineCpuPercent @2 :Float64;
  rssBytes @3 :UInt64;
  machineUsedBytes @4 :UInt64;
  machineTotalBytes @5 :UInt64;
  storeBytes @6 :UInt64;
  spilledBytes @7 :UInt64;
  budgetBytes @8 :UInt64;
  finished @9 :UInt64;
  failed @10 :UInt64;
  actorCalls @11 :UInt64;
  running @12 :UInt64;
  queued @13 :UInt64;
}
