#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_job.hpp"
#include "manta/actor/far_actors.hpp"
#include "manta/sched/contention.hpp"
#include "manta/sched/parker.hpp"

#include "actors/atoms.hpp"
#include "manta/actor_errors.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/core/job_id.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sched/task_error.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sched/typed_task.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/retry_exceptions.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <coroutine>

namespace manta::detail {

namespace {

using task_events::describe;

using clock = std::chrono::steady_clock;

/// How long an idle drain job waits for the next call before it ends.
constexpr auto linger = std::chrono::microseconds{30};

/// Calls of an actor on another node that may be on their way at once (the
/// node that hosts it enforces its max_concurrency).
constexpr int remote_window = 1 << 16;

enum class exit_kind { none, exit_request, crash };

/// Whether the failure `out` of call `c` runs it again, here or on the
/// remote instance (and counts the retry): the retry policy covers it (on
/// a remote instance, its node said so) and max_task_retries lasts. A call
/// whose owner is on another node is marked retryable instead: the owner
/// holds the one budget and sends it again.
bool retries_failure(const actor_options& o, actor_call& c, const call_outcome& out, bool remote) {
  bool covered = remote ? out.retryable
                        : retry_covers(o.retry_exceptions, o.retry_exception_types, out.error);
  if (!covered || c.cancelled.load(std::memory_order_acquire))
    return false;
  if (c.owner_retries) {
    c.retryable = true;
    return false;
  }
  if (o.max_task_retries >= 0 && c.retries >= o.max_task_retries)
    return false;
  ++c.retries;
  return true;
}

exit_kind classify(const std::exception_ptr& e) {
  if (!e)
    return exit_kind::none;
  try {
    std::rethrow_exception(e);
  } catch (const actor_exit_request&) {
    return exit_kind::exit_request;
  } catch (const actor_crash&) {
    return exit_kind::crash;
  } catch (...) {
    return exit_kind::none;
  }
}

} // namespace

const slot_ptr& job_sink() {
  // Of no store: it lives as long as the process, across runtimes.
  static auto* sink = new slot_ptr(std::make_shared<object_slot>(nullptr, object_id{}));
  return *sink;
}

void unregister_waiters(actor_call& c) {
  if (!c.waiting)
    return;
  for (auto& d : c.deps)
    d->remove_waiter(&c.waiter);
  c.waiting = false;
}

actor_core*& current_actor() noexcept {
  thread_local actor_core* core = nullptr;
  return core;
}

const actor_call*& current_call() noexcept {
  thread_local const actor_call* call = nullptr;
  return call;
}

// -- call plumbing declared in actor_call.hpp ---------------------------------

void actor_dep_waiter::on_ready() noexcept {
  if (sim_engaged()) {
    // In a simulation the host's message would arrive on a CAF thread, at
    // a moment no seed decides: the wake-up is an event instead.
    sim_post([weak = core->weak_from_this()] {
      if (auto c = weak.lock())
        c->on_dep_ready();
    });
    return;
  }
  caf::anon_send(core->host(), actors::ready_atom::value);
}

actor_call::~actor_call() {
  unregister_waiters(*this);
}

actor_ctor::~actor_ctor() {
  if (waiting)
    for (auto& d : deps)
      d->remove_waiter(&waiter);
}

slot_ptr submit_call(const std::shared_ptr<actor_core>& core, call_ptr call,
                     const std::string* group) {
  auto& rt = runtime::require("actor call");
  if (core->screens_calls() || group != nullptr) [[unlikely]]
    core->admit(*call, group);
  auto slot = rt.store().table().create(rt.next_object_id());
  call->result = slot;
  note_child(slot); // cancelled with the task or call submitting it
  task_events::on_call_submit(*call);
  core->submit(std::move(call));
  note_submitted_call(core, *slot);
  return slot;
}

void complete_call(const run_context& ctx, call_outcome outcome) noexcept {
  ctx.core->complete(ctx, std::move(outcome));
}

void seal_outcome(object_slot& slot, const call_outcome& out, const std::string& task_name) {
  if (out.error)
    slot.seal_error(to_task_error(out.error, task_name));
  else if (out.type == &typeid(void) || *out.type == typeid(void))
    seal_void(slot);
  else
    slot.seal_value(out.value, *out.type, out.bytes, out.codec);
}

// -- actor_core ---------------------------------------------------------------

actor_core::actor_core(const actor_class_info& cls, const std::type_info& type, actor_options opts,
                       std::unique_ptr<actor_ctor> ctor, worker_pool& pool, bool remote,
                       int restarts, uint64_t id)
  : cls_(cls), type_(type), opts_(std::move(opts)), ctor_(std::move(ctor)), pool_(&pool),
    remote_(remote), id_(id), restarts_(restarts) {
  display_name_ = cls_.name;
  if (!opts_.name.empty())
    display_name_ += " '" + opts_.name + "'";
  max_concurrency_ = remote_ ? remote_window
                             : opts_.max_concurrency.value_or(cls_.is_async ? 1000 : 1);
  init_groups();
  ctor_->waiter.core = this;
  job_ = job_id();
  // A restarted remote actor's new core starts where the old one stopped.
  note_state_locked(restarts > 0 ? "RESTARTING" : "PENDING_CREATION");
}

actor_core::~actor_core() = default;

void actor_core::start(caf::actor host) {
  host_ = std::move(host);
  for (auto& d : ctor_->deps)
    if (d->add_waiter(&ctor_->waiter))
      ctor_->waiting = true;
  std::unique_lock<std::mutex> guard{mtx_};
  kick_locked();
}

void actor_core::submit(call_ptr c) {
  c->waiter.core = this;
  for (auto& d : c->deps)
    if (d->add_waiter(&c->waiter))
      c->waiting = true;
  std::unique_lock<std::mutex> guard{mtx_};
  if (state_ == state::dead) {
    auto msg = died_message(cause_);
    guard.unlock();
    unregister_waiters(*c);
    release_pending(*c);
    auto err = std::make_exception_ptr(actor_died_error(msg));
    c->result->seal_error(err);
    task_events::on_call_end(*c, cls_.name, display_name_, err);
    return;
  }
  queue_.push_back(std::move(c));
  pushes_.fetch_add(1, std::memory_order_release);
  kick_locked();
}

bool actor_core::has_work_locked() const {
  if (!resumes_.empty())
    return true;
  if (state_ != state::alive || queue_.empty()
      || in_flight_ >= static_cast<size_t>(max_concurrency_))
    return false;
  return group_limits_.empty() ? queue_.front()->deps_done()
                               : next_grouped_locked() < queue_.size();
}

void actor_core::schedule_locked(job_kind kind, bool with_lease) {
  auto job = std::make_shared<actor_job>(shared_from_this(), cls_.name, kind, epoch_, with_lease);
  if (sim_engaged())
    sim_schedule(std::move(job)); // on the actor's virtual node
  else
    pool_->schedule(std::move(job));
}

void actor_core::kick_locked() {
  if (state_ == state::need_ctor && ctor_->deps_done()) {
    state_ = state::constructing;
    // A remote actor's resources are held on its node, not here.
    bool with_lease = !remote_ && !lease_held_ && !lease_requested_;
    lease_requested_ = lease_requested_ || with_lease;
    schedule_locked(job_kind::construct, with_lease);
    return;
  }
  // Async and remote actors have one drainer: it only starts coroutines or
  // sends calls, in queue order.
  size_t allowed = cls_.is_async || remote_ ? 1 : static_cast<size_t>(max_concurrency_);
  // A threaded actor adds a drainer only when every drainer it has is inside
  // a call: an idle one (lingering, between calls, or still queued in the
  // pool) takes the next call itself, and another would only contend for
  // the lock and a thread. Calls that block still get max_concurrency
  // drainers, since each blocked call keeps its drainer busy.
  if (drainers_ < allowed && in_flight_ >= drainers_ && has_work_locked()) {
    ++drainers_;
    schedule_locked(job_kind::drain, false);
  }
}

void actor_core::run_job(job_kind kind, uint64_t epoch, bool holds_lease) noexcept {
  auto& cur = current_actor();
  auto* prev = cur;
  cur = this;
  job_scope job{job_}; // job_id() in its code: the job that created it
  if (kind == job_kind::construct)
    construct(epoch, holds_lease);
  else
    drain(epoch);
  cur = prev;
}

void actor_core::construct(uint64_t epoch, bool holds_lease) noexcept {
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (holds_lease) {
      lease_held_ = true;
      if (state_ == state::dead) { // died while it waited for its resources
        lease_held_ = false;
        guard.unlock();
        pool_->release(opts_.resources, this);
        return;
      }
    }
    if (epoch != epoch_ || state_ != state::constructing)
      return;
    for (auto& d : ctor_->deps) {
      if (d->failed()) {
        death_work w;
        die_locked("a constructor argument failed: " + describe(d->error()), false, w);
        guard.unlock();
        finish_death(w);
        return;
      }
    }
  }
  std::shared_ptr<void> obj;
  std::exception_ptr err;
  uint16_t node = 0;
  try {
    if (remote_) {
      auto where = create_on_other_node(*this, *ctor_, restarts());
      node = node_of(*where);
      obj = std::move(where);
    } else {
      obj = ctor_->construct();
    }
  } catch (...) {
    err = std::current_exception();
  }
  death_work w;
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (epoch != epoch_) {
      w.garbage.push_back(std::move(obj)); // killed while constructing
    } else if (err) {
      auto kind = classify(err);
      die_locked(kind == exit_kind::exit_request
                   ? std::string{"the constructor called manta::exit_actor()"}
                   : "the constructor threw " + describe(err),
                 kind != exit_kind::exit_request, w);
    } else {
      instance_ = std::move(obj);
      remote_node_ = node;
      state_ = state::alive;
      note_state_locked("ALIVE");
      kick_locked();
      retire_if_idle_locked(w);
    }
  }
  finish_death(w);
}

bool actor_core::start_async_drain_locked() noexcept {
  if (stale_drains_ > 0) {
    --stale_drains_;
    return false;
  }
  drain_running_ = true;
  return true;
}

void actor_core::drain(uint64_t epoch) noexcept {
  std::unique_lock<std::mutex> guard{mtx_};
  if (epoch == epoch_ && cls_.is_async && !start_async_drain_locked())
    return;
  bool lingered = false;
  for (;;) {
    if (epoch != epoch_)
      return; // this instance died; drainers_ was reset by the death
    if (!resumes_.empty()) {
      auto [addr, e, call] = resumes_.front();
      resumes_.pop_front();
      auto keep = instance_;
      guard.unlock();
      auto h = std::coroutine_handle<>::from_address(addr);
      if (e == epoch) {
        current_call() = call; // its frame holds the call while suspended
        h.resume();
        current_call() = nullptr;
      } else {
        h.destroy(); // its instance died: unwind the frame, never resume it
      }
      guard.lock();
      continue;
    }
    if (has_work_locked()) {
      lingered = false;
      size_t at = group_limits_.empty() ? 0 : next_grouped_locked();
      auto c = std::move(queue_[at]);
      if (at == 0)
        queue_.pop_front();
      else // a call of another group, behind a full one
        queue_.erase(queue_.begin() + static_cast<ptrdiff_t>(at));
      run_popped_locked(guard, std::move(c), epoch);
      continue;
    }
    if (!lingered && state_ == state::alive && !handles_gone_ && !no_core_to_spare()) {
      // A caller that waits for each result submits its next call within
      // microseconds; waiting that long here saves a new job and a thread
      // hand-over per call (what bounds call+get round trips). Only with a
      // core to spare beside the caller (contention.hpp, no_core_to_spare):
      // else the spin keeps the caller off a core, or takes each call of a
      // burst as it lands, in step with the caller (3x slower than letting
      // the burst pile up: performance.md, "Calls in a burst").
      lingered = true;
      auto seen = pushes_.load(std::memory_order_acquire);
      guard.unlock();
      spin_scope counted;
      auto until = clock::now() + linger;
      while (pushes_.load(std::memory_order_acquire) == seen && clock::now() < until)
        cpu_relax();
      guard.lock();
      continue;
    }
    --drainers_;
    drain_running_ = false;
    death_work w;
    retire_if_idle_locked(w);
    guard.unlock();
    finish_death(w);
    return;
  }
}

void actor_core::run_popped_locked(std::unique_lock<std::mutex>& guard, call_ptr c,
                                   uint64_t epoch) {
  const slot_ptr* failed = nullptr;
  for (auto& d : c->deps)
    if (d->failed()) {
      failed = &d;
      break;
    }
  if (failed != nullptr) { // an argument failed: so does the call
    guard.unlock();
    release_pending(*c);
    c->result->seal_error((*failed)->error());
    task_events::on_call_end(*c, cls_.name, display_name_, (*failed)->error());
    guard.lock();
    return;
  }
  running_.push_back(c);
  ++in_flight_;
  if (!group_limits_.empty())
    ++group_running_[c->group];
  // More work and room for another drainer (max_concurrency > 1).
  kick_locked();
  auto keep = instance_;
  guard.unlock();
  run_context ctx{this, c, epoch};
  task_events::on_call_start(*c);
  auto* outer_call = current_call(); // a caller that runs the call itself may be in one
  current_call() = c.get();
  bool simulated = sim_engaged() && !remote_;
  if (simulated) // its virtual run time (docs/simulation.md)
    sim_call_starts(cls_.name + "." + c->method_name);
  auto out = remote_ ? call_on_other_node(*static_cast<remote_actor*>(keep.get()), ctx,
                                          cls_.name + "." + c->method_name)
                     : c->invoke(keep.get(), ctx);
  if (simulated && !out.pending)
    sim_call_ends();
  log_capture::end_of_run();
  current_call() = outer_call;
  if (!out.pending)
    complete(ctx, std::move(out));
  else
    c->trace.suspended.store(true, std::memory_order_relaxed);
  guard.lock();
}

void actor_core::complete(const run_context& ctx, call_outcome out) noexcept {
  death_work w;
  bool accept = false;
  uint32_t ran_on = 0; // the node of a remote instance, + 1 (task_events)
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (remote_)
      ran_on = uint32_t{remote_node_} + 1;
    auto i = std::find(running_.begin(), running_.end(), ctx.call);
    if (i == running_.end() || ctx.epoch != epoch_)
      return; // failed or handed to a restarted instance by a death
    switch (classify(out.error)) {
      case exit_kind::exit_request:
        die_locked("method '" + ctx.call->method_name + "' called manta::exit_actor()", false, w);
        break;
      case exit_kind::crash:
        die_locked("method '" + ctx.call->method_name + "' raised actor_crash ("
                     + describe(out.error) + ")",
                   true, w);
        break;
      case exit_kind::none:
        *i = std::move(running_.back());
        running_.pop_back();
        --in_flight_;
        if (!group_limits_.empty())
          --group_running_[ctx.call->group];
        // A retried failure runs the call again, next (for a remote
        // instance: sent again, after the calls already on their way).
        accept = !retries_failure(opts_, *ctx.call, out, remote_);
        if (!accept)
          queue_.push_front(ctx.call);
        kick_locked();
        break;
    }
  }
  if (accept) // it ran for the last time: its arguments go before its result wakes the caller
    ctx.call->release_args();
  if (accept && !ctx.call->cancelled.load(std::memory_order_acquire)) {
    // Recorded before the seal wakes the caller, who may list it at once.
    task_events::on_call_end(*ctx.call, cls_.name, display_name_, out.error, ran_on);
    release_pending(*ctx.call);
    seal_outcome(*ctx.call->result, out, cls_.name + "." + ctx.call->method_name);
  }
  finish_death(w);
}

void actor_core::on_dep_ready() {
  std::unique_lock<std::mutex> guard{mtx_};
  if (state_ != state::dead)
    kick_locked();
}

void actor_core::push_resume(void* addr, uint64_t epoch, const actor_call* call) {
  std::unique_lock<std::mutex> guard{mtx_};
  resumes_.push_back(resume_entry{addr, epoch, call});
  pushes_.fetch_add(1, std::memory_order_release);
  kick_locked();
}

} // namespace manta::detail
