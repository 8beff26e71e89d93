// An actor's death: kill, the last handle gone, a crash. A restartable
// death re-queues the unfinished calls for a new instance; a final one
// fails them and frees the actor's name and resources. Apart from the
// engine in actor_core.cpp.
#include "manta/actor/actor_core.hpp"

#include "manta/actor/actor_directory.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

namespace manta::detail {

void actor_core::kill(std::string cause, bool restartable) {
  death_work w;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (state_ == state::dead)
      return;
    die_locked(std::move(cause), restartable, w);
  }
  finish_death(w);
}

void actor_core::handles_gone() {
  death_work w;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    handles_gone_ = true;
    // Retire on a pool thread (the instance's destructor is user code, and
    // the last handle may drop anywhere): a drain job ends by retiring.
    if (state_ == state::alive && drainers_ == 0 && runtime::current() != nullptr) {
      ++drainers_;
      schedule_locked(job_kind::drain, false);
    }
  }
  finish_death(w);
}

void actor_core::retire_if_idle_locked(death_work& w) {
  if (handles_gone_ && !opts_.detached && state_ == state::alive && queue_.empty()
      && in_flight_ == 0 && drainers_ == 0 && resumes_.empty())
    die_locked("all handles to it went out of scope", false, w);
}

std::string actor_core::died_message(const std::string& cause) const {
  return "actor " + display_name_ + " died: " + cause
         + "; calls to it fail from now on (create a new actor, or give it "
           "max_restarts(n) so that it restarts after a crash)";
}

void actor_core::die_locked(std::string cause, bool restartable, death_work& w) {
  ++epoch_;
  drainers_ = 0;
  drain_running_ = false; // the jobs of the old instance return at their start
  stale_drains_ = 0;
  in_flight_ = 0;
  std::fill(group_running_.begin(), group_running_.end(), 0);
  if (instance_)
    w.garbage.push_back(std::move(instance_));
  bool restart = restartable && !handles_gone_
                 && (opts_.max_restarts < 0 || restarts_.load() < opts_.max_restarts);
  std::vector<call_ptr> requeue;
  for (auto& c : running_) {
    if (restart && (opts_.max_task_retries < 0 || c->retries < opts_.max_task_retries)) {
      ++c->retries;
      requeue.push_back(std::move(c));
    } else {
      w.fail.push_back(std::move(c));
    }
  }
  running_.clear();
  cause_ = std::move(cause);
  if (restart) {
    restarts_.fetch_add(1, std::memory_order_acq_rel);
    w.message = "actor " + display_name_ + " died while running this call (" + cause_
                + "); it restarts and later calls run on the new instance; give "
                  "it max_task_retries(n) to re-run calls that were running";
    state_ = state::need_ctor;
    note_state_locked("RESTARTING", cause_);
    queue_.insert(queue_.begin(), requeue.begin(), requeue.end());
    kick_locked();
    return;
  }
  state_ = state::dead;
  note_state_locked("DEAD", cause_);
  w.final = true;
  w.message = died_message(cause_);
  for (auto& c : queue_)
    w.fail.push_back(std::move(c));
  queue_.clear();
  w.release_lease = lease_held_;
  lease_held_ = false;
}

void actor_core::finish_death(death_work& w) noexcept {
  if (w.fail.empty() && w.garbage.empty() && !w.final)
    return;
  auto self = shared_from_this(); // the directory may drop the last reference
  if (!w.fail.empty()) {
    auto err = std::make_exception_ptr(actor_died_error(w.message));
    for (auto& c : w.fail) {
      unregister_waiters(*c);
      release_pending(*c);
      c->result->seal_error(err);
      task_events::on_call_end(*c, cls_.name, display_name_, err);
    }
    w.fail.clear();
  }
  // Runs the instance's destructor on this thread (a pool thread or the
  // thread that called kill/shutdown); a call still running on it keeps it
  // alive until that call returns.
  w.garbage.clear();
  // The directory goes with the runtime: an actor that dies after it (its
  // last call outlived shutdown's grace) is recorded nowhere.
  auto* rt = runtime::live();
  if (w.final) {
    if (rt != nullptr)
      rt->actors().record_dead(info());
    if (w.release_lease && runtime::current() != nullptr)
      pool_->release(opts_.resources, this);
    if (sim_engaged()) // the simulator keeps the lease on its virtual node
      sim_actor_gone(this);
    if (host_)
      caf::anon_send_exit(host_, caf::exit_reason::user_shutdown);
    if (rt != nullptr)
      rt->actors().remove(*this);
  }
}

} // namespace manta::detail
