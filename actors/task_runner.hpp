#pragma once

#include "manta/detail/object_slot.hpp"
#include "manta/detail/task_spec.hpp"

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include <exception>

namespace manta::actors {

/// Tells a task's actor that one of its arguments was sealed.
class argument_waiter final : public detail::waiter {
public:
  void on_ready() noexcept override;
  caf::actor self;
};

struct task_runner_state {
  detail::task_ptr task;
  caf::actor node_manager;
  /// Arguments not sealed yet.
  size_t pending = 0;
  argument_waiter waiter;

  static inline const char* name = "manta.task";
};

using task_runner_actor = caf::stateful_actor<task_runner_state>;

/// The actor of one task (every task is one). It waits until each object
/// argument exists (a failed argument fails the task with the same error),
/// asks the node manager for a lease on the task's resources, and when the
/// executor reports the run, gives the lease back and either finishes,
/// retries (`max_retries` with `retry_exceptions`) or seals the error.
caf::behavior task_runner(task_runner_actor* self, detail::task_ptr task,
                          caf::actor node_manager);

/// The actor of a task, or an invalid handle if it has not started yet.
caf::actor runner_of(const detail::task_spec& t);

/// Seals `error` as the task's result and tells its actor to stop.
void reject(detail::task_spec& t, std::exception_ptr error);

} // namespace manta::actors
