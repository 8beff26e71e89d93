#include "manta/cancel.hpp"

#include "actors/atoms.hpp"
#include "actors/task_runner.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/sched/task_placer.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

namespace manta {

namespace detail {

namespace {

/// Whether `t` runs now, here or on the node it was sent to (as far as
/// this node heard: a worker says when a task that queued there starts).
bool started(const task_spec& t) {
  if (t.attempts.load(std::memory_order_relaxed) > 0)
    return true;
  return t.trace.tracked
         && t.trace.state.load(std::memory_order_relaxed)
              == static_cast<uint8_t>(task_state::running);
}

/// A result slot without a task behind it: an actor call's, if one of this
/// node's actors has it queued or running (found by asking each; cancel is
/// rare, and calls carry no pointer back to their actor).
void cancel_call(const slot_ptr& slot, const cancel_options& opts) {
  for (auto& core : runtime::here().actors().live())
    if (core->cancel_call(*slot, opts))
      return;
}

} // namespace

void cancel(const slot_ptr& slot, const cancel_options& opts) {
  runtime::require("cancel");
  if (slot->done())
    return;
  auto t = slot->producer();
  if (!t)
    return cancel_call(slot, opts);
  if (opts.force && started(*t))
    throw invalid_argument_error(
      "cancel with force = true of task '" + t->name()
      + "': it is running, on a thread of a node's process shared with other tasks and "
        "actors, and C++ cannot stop a thread without ending that process; nothing was "
        "cancelled. Cancel it without force (its result fails at once and "
        "manta::cancelled() turns true inside it) and have it check manta::cancelled()");
  auto err = std::make_exception_ptr(
    task_cancelled_error("task '" + t->name() + "' was cancelled"));
  // Sealed before the task can see the request: a running task that checks
  // manta::cancelled() and returns at once must not seal its own value
  // first (the first seal wins; errors_test saw that race under load).
  if (!detail::end_task(*t, task_state::cancelled, err))
    return; // it ended meanwhile
  t->request_cancel();
  // A task waiting for its arguments stops now; one queued for resources is
  // dropped by the node manager; a running one finishes in the background.
  actors::notify_cancelled(*t);
  // One this driver sent to a worker is cancelled there too.
  if (auto* placer = task_placer_of(runtime::here()))
    placer->cancel_placed(slot->id(), opts.force, opts.recursive);
  if (opts.recursive)
    for (auto& child : t->children.take())
      cancel(child, cancel_options{false, true});
}

} // namespace detail

bool cancelled() noexcept {
  if (auto* c = detail::current_call())
    return c->cancelled.load(std::memory_order_acquire);
  auto* t = detail::this_task().task;
  return t != nullptr && t->cancelled();
}

} // namespace manta
