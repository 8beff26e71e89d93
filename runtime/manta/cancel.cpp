#include "manta/cancel.hpp"

#include "actors/task_runner.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/errors.hpp"


namespace manta {

namespace detail {

void cancel(const slot_ptr& slot) {
  runtime::require("cancel");
  auto t = slot->producer();
  if (!t || slot->done())
    return;
  auto err = std::make_exception_ptr(
    task_cancelled_error("task '" + t->name() + "' was cancelled"));
  // Sealed before the task can see the request: a running task that checks
  // manta::cancelled() and returns at once must not seal its own value
  // first (the first seal wins; errors_test saw that race under load).
  slot->seal_error(err);
  t->request_cancel();
  task_events::on_end(*t, task_state::cancelled, err);
  // A task waiting for its arguments stops now; one queued for resources is
  // dropped by the node manager; a running one finishes in the background.
  actors::notify_cancelled(*t);
}

} // namespace detail

bool cancelled() noexcept {
  auto* t = detail::this_task().task;
  return t != nullptr && t->cancelled();
}

} // namespace manta
