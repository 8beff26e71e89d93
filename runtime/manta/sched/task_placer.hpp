#pragma once

#include "manta/resources.hpp"
#include "manta/sched/task_spec.hpp"

/// The scheduler's door to the cluster: "place this ready task" (and
/// cancel it where it went). The local core (store, sched, actor, and
/// `manta::cancel`) includes no cluster code (issue 22): `submit`
/// and the task runner hand a task this node cannot or must not run now to
/// this interface, declared here by the code that needs it. The cluster
/// link of a driver implements it (cluster/cluster.hpp: its cluster client
/// picks the node); the runtime wires it in (`task_placer_of`).
namespace manta::detail {

class runtime;

class task_placer {
public:
  /// Places a ready task (its arguments all exist) on some node of the
  /// cluster, this one included when it has room by then.
  virtual void dispatch(task_ptr t) = 0;

  /// Whether some other node offers `d` in total: a task none fits fails
  /// at submit, one that only a node being reconnected fits waits for it.
  virtual bool feasible(const resource_demand& d) const = 0;

  /// The other nodes' total resources (an infeasible task's message says
  /// what the whole cluster has).
  virtual resource_map worker_totals() const = 0;

  /// The owner cancelled task `id`: if it went to another node, that node
  /// cancels it too (`force`, `recursive` as given to `manta::cancel`). A
  /// task that stayed here is cancelled by the caller alone.
  virtual void cancel_placed(object_id id, bool force, bool recursive) = 0;

protected:
  /// Never deleted through this door: the runtime owns the cluster link.
  ~task_placer() = default;
};

/// Where `rt` sends the tasks it places on other nodes: its cluster link on
/// a driver; null on a single node and on a worker (whose tasks run there
/// or nowhere). Defined by the runtime (runtime.cpp), which owns the link.
task_placer* task_placer_of(runtime& rt);

} // namespace manta::detail
