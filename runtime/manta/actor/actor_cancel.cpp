// Cancelling an actor call: a queued one is taken out of its actor's queue
// and never runs; a running one's result fails at once, and the method
// sees manta::cancelled() (an async one stops at its next co_await).
#include "manta/actor/actor_core.hpp"

#include "actors/atoms.hpp"
#include "manta/actor/far_actors.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace manta::detail {

bool actor_core::cancel_call(const object_slot& slot, const cancel_options& opts) {
  auto is_it = [&](const call_ptr& c) { return c->result.get() == &slot; };
  call_ptr call;
  bool queued = false;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    auto q = std::find_if(queue_.begin(), queue_.end(), is_it);
    auto r = std::find_if(running_.begin(), running_.end(), is_it);
    if (q == queue_.end() && r == running_.end())
      return false;
    if (opts.force)
      // As in Ray: a forced cancel kills a worker process, which for an
      // actor would be the actor itself.
      throw invalid_argument_error(
        "cancel with force = true of a call of actor " + display_name_
        + ": force cannot end an actor call without ending the actor (it runs on the "
          "actor's instance, shared with its other calls); cancel without force (the method "
          "sees manta::cancelled(), an async one stops at its next co_await), or end the "
          "actor with manta::kill(handle)");
    call = q != queue_.end() ? *q : *r;
    call->cancelled.store(true, std::memory_order_release);
    if (q != queue_.end()) {
      queue_.erase(q);
      queued = true;
      kick_locked(); // a call behind it may be able to run now
    }
  }
  auto err = std::make_exception_ptr(task_cancelled_error("actor call '" + display_name_ + "."
                                                          + call->method_name + "' was cancelled"));
  task_events::on_call_end(*call, cls_.name, display_name_, err);
  release_pending(*call);
  call->result->seal_error(err);
  if (!queued) {
    // Running: an async method waiting now is woken to see it.
    std::shared_ptr<wake_token> wake;
    {
      std::lock_guard<spin_lock> guard{call->wake_lock};
      wake = call->wake;
    }
    if (wake)
      wake->fire();
    // A call of an actor on another node: that node cancels its run.
    if (remote_)
      cancel_on_other_node(slot.id().value(), opts.recursive);
  }
  if (opts.recursive)
    for (auto& child : call->children.take())
      detail::cancel(child, cancel_options{false, true});
  return true;
}

} // namespace manta::detail
