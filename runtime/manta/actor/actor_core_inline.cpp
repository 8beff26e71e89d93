// A caller that blocks on the result of its own actor call runs the call
// itself when the actor is free (issue 25, item 4): a synchronous call then
// costs no hand-over to a pool thread, which on an oversubscribed machine
// waits a time slice (milliseconds) for a core. For an async actor the
// caller starts the call's coroutine in the place of the actor's one
// drainer, so that its coroutines still never run on two threads at once.

#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_job.hpp"
#include "manta/sched/blocking.hpp"
#include "manta/core/job_id.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/sim/sim_hooks.hpp"

namespace manta::detail {

namespace {

/// The last call the thread submitted: the usual `get(a.call(...).remote())`
/// blocks on it next.
struct submitted_call {
  std::weak_ptr<actor_core> core;
  const object_slot* result = nullptr;
};

submitted_call& last_submitted() noexcept {
  thread_local submitted_call last;
  return last;
}

} // namespace

void note_submitted_call(const std::shared_ptr<actor_core>& core, const object_slot& result) {
  auto& last = last_submitted();
  last.core = core;
  last.result = &result;
}

bool run_submitted_call(const object_slot& slot) {
  auto& last = last_submitted();
  if (last.result != &slot)
    return false;
  last.result = nullptr;
  auto core = last.core.lock();
  last.core.reset();
  return core != nullptr && core->run_inline(slot);
}

void actor_core::take_drainer_place_locked() noexcept {
  if (drainers_ == 1)
    ++stale_drains_; // its job, still waiting in the pool, returns at its start
  else
    drainers_ = 1;
  drain_running_ = true;
}

void actor_core::give_back_drainer_place_locked() noexcept {
  drain_running_ = false;
  // A drain job whose place the caller took still waits in the pool: it
  // takes the place back and drains whatever came meanwhile when it starts.
  // Meanwhile pushes find a drainer and schedule none, and the caller's next
  // call may take the place again: a caller in a loop of sync calls costs
  // one job, not one per call (as for a threaded actor's queued job).
  if (stale_drains_ > 0) {
    --stale_drains_;
    return;
  }
  // Coroutines woken meanwhile, calls queued meanwhile (their pushes found
  // the place taken) or the last handle gone (the instance's destructor runs
  // on a pool thread) need a drainer now.
  if (has_work_locked() || handles_gone_)
    schedule_locked(job_kind::drain, false);
  else
    --drainers_;
}

bool actor_core::run_inline(const object_slot& slot) {
  // Only what a drainer would do next: remote actors send the call away,
  // grouped ones pick calls by group. An async actor's coroutines run on
  // one drainer at a time: the caller takes its place, only while no
  // drainer runs (one still waiting in the pool returns when it starts).
  // Simulated runs keep their drainers on virtual nodes.
  bool step = cls_.is_async;
  if (remote_ || !group_limits_.empty() || (step && sim_engaged()))
    return false;
  std::unique_lock<std::mutex> guard{mtx_};
  auto runnable = [&] {
    return state_ == state::alive && resumes_.empty() && !queue_.empty()
           && queue_.front()->result.get() == &slot && has_work_locked()
           && (!step || (!drain_running_ && drainers_ <= 1));
  };
  if (!runnable())
    return false;
  auto epoch = epoch_;
  guard.unlock();
  // The caller's CPUs serve others while it runs the call, as while it
  // would block in get (lent before the actor's lock is taken, as get
  // does); its unfinished output line stays its own.
  auto& ctx = this_task();
  cpu_loan loan{ctx.task};
  log_capture::end_of_run();
  // What a pool thread running the actor's drain job shows the call's code.
  actor_job job{shared_from_this(), cls_.name, job_kind::drain, epoch, false};
  auto* outer_task = ctx.task;
  auto* outer_actor = current_actor();
  ctx.task = &job;
  current_actor() = this;
  bool ran = false;
  {
    job_scope scope{job_};
    guard.lock();
    // Checked again: a drainer may have taken the call meanwhile, or the
    // actor died. Taken off the queue and run under one hold of the lock,
    // so that a death always finds the call queued or running.
    if (runnable()) {
      auto c = std::move(queue_.front());
      queue_.pop_front();
      auto at = epoch_;
      if (step)
        take_drainer_place_locked();
      run_popped_locked(guard, std::move(c), at);
      ran = true;
      if (step) {
        if (at == epoch_) // else the death reset the drainers
          give_back_drainer_place_locked();
      } else if (handles_gone_ && drainers_ == 0 && state_ == state::alive) {
        // The caller is no drainer: if the last handle went away and the
        // drainers retired while it ran the call, none is left to retire
        // the actor. One is scheduled for that, on a pool thread, as
        // handles_gone does.
        ++drainers_;
        schedule_locked(job_kind::drain, false);
      }
    }
    guard.unlock();
  }
  current_actor() = outer_actor;
  ctx.task = outer_task;
  return ran;
}

} // namespace manta::detail
