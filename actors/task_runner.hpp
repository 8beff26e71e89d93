#pragma once

#include "manta/store/object_slot.hpp"
#include "manta/sched/task_spec.hpp"

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

namespace manta::detail {
class task_placer;
class worker_pool;
} // namespace manta::detail

namespace manta::actors {

/// Tells a task's actor that one of its arguments was sealed.
class argument_waiter final : public detail::waiter {
public:
  void on_ready() noexcept override;
  caf::actor self;
};

struct task_runner_state {
  detail::task_ptr task;
  detail::worker_pool* pool = nullptr;
  /// Where to place the task when this node has no room for it right now;
  /// null for a node outside a cluster (and for tasks that cannot travel).
  detail::task_placer* placer = nullptr;
  /// Arguments not sealed yet.
  size_t pending = 0;
  argument_waiter waiter;

  static inline const char* name = "manta.task";
};

using task_runner_actor = caf::stateful_actor<task_runner_state>;

/// The actor of one task (every task is one). It waits, by message, until
/// each object argument exists; a failed argument fails the task with the
/// same error. Then it hands the task to the node's worker pool, which
/// leases its resources and runs it, and quits: an actor is alive only while
/// its task waits for arguments, so a million queued tasks cost no more
/// than their specs. In a cluster, a task this node has no free resources
/// for goes to the cluster client, which places it on another node.
caf::behavior task_runner(task_runner_actor* self, detail::task_ptr task, detail::worker_pool* pool,
                          detail::task_placer* placer);

/// Runs a task whose arguments all exist: fails it with an argument's error,
/// or gives it to the worker pool (in a cluster driver, to another node when
/// this one has no room). Called by a task's actor once its last argument is
/// sealed, and by `submit` for a task that has nothing to wait for.
void hand_over(detail::task_ptr task, detail::worker_pool& pool, detail::task_placer* placer);

/// Tells a task's actor to stop waiting (after its task was cancelled).
void notify_cancelled(const detail::task_spec& t);

} // namespace manta::actors
