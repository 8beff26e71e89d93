#pragma once

#include "manta/actor_options.hpp"
#include "manta/cancel.hpp"
#include "manta/actor/actor_call.hpp"
#include "manta/actor/actor_registry.hpp"
#include "manta/state.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace manta::detail {

class worker_pool;

/// The engine of one actor: its instance, its call queue and its life
/// (constructing, alive, restarting, dead). Shared by the actor's handles,
/// its host CAF actor and the pool jobs that run its code.
///
/// Callers push calls straight into the queue under the core's lock; one
/// pool job ("drain") then runs calls one after another until the queue is
/// empty, so a burst of calls costs one hand-over to a pool thread, not one
/// per call (a CAF message per call alone would cap calls at CAF's
/// request/response rate before any work is done). User code (constructor,
/// methods, destructor) runs only on pool threads or the caller's thread,
/// never on CAF's scheduler threads. The host CAF actor is where
/// asynchronous events arrive: sealed arguments, coroutine wake-ups and
/// timers (see actors/actor_host.hpp).
class actor_core : public std::enable_shared_from_this<actor_core> {
public:
  enum class job_kind { construct, drain };

  /// With `remote`, the instance lives on another node (remote_actor.hpp):
  /// this core then queues and orders the calls and sends them there.
  /// `restarts` counts the deaths of earlier instances on other nodes.
  actor_core(const actor_class_info& cls, const std::type_info& type, actor_options opts,
             std::unique_ptr<actor_ctor> ctor, worker_pool& pool, bool remote = false,
             int restarts = 0, uint64_t id = 0);
  ~actor_core();

  actor_core(const actor_core&) = delete;
  actor_core& operator=(const actor_core&) = delete;

  /// Links the host actor and schedules the constructor.
  void start(caf::actor host);

  /// Queues a call; fails it at once if the actor is dead.
  void submit(call_ptr c);

  /// Whether calls need `admit` before `submit` (a pending-call limit or
  /// concurrency groups): one flag read on the hot path.
  bool screens_calls() const noexcept { return screens_; }

  /// Counts `c` against `max_pending_calls` (throws
  /// `pending_calls_limit_error` past it) and picks its concurrency group:
  /// `group` if not null, else its method's (actor_call_options.cpp).
  void admit(actor_call& c, const std::string* group);

  /// `c` finished (its result is about to be sealed): it no longer counts
  /// against `max_pending_calls`.
  void release_pending(actor_call& c) noexcept {
    if (c.counts_pending.load(std::memory_order_relaxed)
        && c.counts_pending.exchange(false, std::memory_order_acq_rel))
      pending_.fetch_sub(1, std::memory_order_acq_rel);
  }

  /// Calls counted against `max_pending_calls` now.
  int pending_calls() const noexcept { return pending_.load(std::memory_order_acquire); }

  /// Completes a call run on epoch `ctx.epoch`; ignored if the instance it
  /// ran on died meanwhile (the call was failed or handed to the new one).
  void complete(const run_context& ctx, call_outcome out) noexcept;

  /// Runs the call whose result is `slot` on the calling thread, now, if
  /// it is next in the queue, its arguments exist and the actor has room
  /// for it (actor_core_inline.cpp); false, leaving it queued, otherwise.
  /// A caller about to block on the result does the work itself instead of
  /// waiting for a pool thread to be woken and scheduled, which on an
  /// oversubscribed machine takes a time slice of someone else's. For an
  /// async actor it starts the call's coroutine (the part up to its first
  /// suspension) in the place of the actor's drainer, when no drainer runs.
  bool run_inline(const object_slot& slot);

  /// Runs a pool job (called on a pool thread).
  void run_job(job_kind kind, uint64_t epoch, bool holds_lease) noexcept;

  /// Host: an argument of a queued call or of the constructor was sealed.
  void on_dep_ready();

  /// Host: coroutine `addr` of epoch `epoch` may continue; `call` is the
  /// call it runs (what `manta::cancelled()` and new tasks see there).
  void push_resume(void* addr, uint64_t epoch, const actor_call* call = nullptr);

  /// Cancels the queued or running call whose result is `slot`
  /// (actor_cancel.cpp); false if it is not one of this actor's.
  bool cancel_call(const object_slot& slot, const cancel_options& opts);

  /// Kills the actor; with `restartable` it restarts if restarts are left.
  void kill(std::string cause, bool restartable);

  /// The last handle went away: exit once the queued calls are done.
  void handles_gone();

  /// Restarts so far (for `was_restarted`).
  int restarts() const noexcept { return restarts_.load(std::memory_order_acquire); }

  /// A snapshot for the state API (`list_actors`).
  actor_info info() const;

  /// State changes kept for the state API: the first (creation) and the
  /// newest, so an actor restarted in a loop keeps bounded memory.
  static constexpr size_t max_history = 32;

  /// Appends the calls queued and running now (`list_tasks`).
  void list_calls(std::vector<task_info>& out) const;

  const std::string& display_name() const noexcept { return display_name_; }
  const std::type_info& type() const noexcept { return type_; }
  const actor_options& options() const noexcept { return opts_; }
  const caf::actor& host() const noexcept { return host_; }
  bool remote() const noexcept { return remote_; }
  /// The actor's id (`runtime_context::get_actor_id`): chosen by its owner.
  uint64_t id() const noexcept { return id_; }

private:
  enum class state { need_ctor, constructing, alive, dead };

  /// What a death leaves to do once the lock is released.
  struct death_work {
    std::vector<call_ptr> fail;
    std::vector<std::shared_ptr<void>> garbage;
    std::string message;
    bool final = false;
    bool release_lease = false;
  };

  void kick_locked();
  bool has_work_locked() const;
  /// Sets up the concurrency groups from the options (actor_call_options.cpp).
  void init_groups();
  /// With groups: the queue index of the first call that may run now (its
  /// group has room, its arguments exist, no earlier call of its group
  /// waits); `queue_.size()` if none.
  size_t next_grouped_locked() const;
  void schedule_locked(job_kind kind, bool with_lease);
  void die_locked(std::string cause, bool restartable, death_work& w);
  /// Records that the actor entered `state` now (info().history).
  void note_state_locked(const char* state, std::string detail = {});
  void retire_if_idle_locked(death_work& w);
  void finish_death(death_work& w) noexcept;
  void construct(uint64_t epoch, bool holds_lease) noexcept;
  void drain(uint64_t epoch) noexcept;
  /// An async actor's drain job takes the drainer's place, unless a caller
  /// took it while the job waited (`stale_drains_`): false then.
  bool start_async_drain_locked() noexcept;
  /// A caller takes, then gives back, the place of an async actor's
  /// drainer around a call it runs itself (actor_core_inline.cpp).
  void take_drainer_place_locked() noexcept;
  void give_back_drainer_place_locked() noexcept;
  /// Runs call `c`, just taken off the queue (fails it if an argument
  /// failed); unlocks `guard` meanwhile.
  void run_popped_locked(std::unique_lock<std::mutex>& guard, call_ptr c, uint64_t epoch);
  std::string died_message(const std::string& cause) const;

  const actor_class_info& cls_;
  const std::type_info& type_;
  actor_options opts_;
  std::string display_name_;
  std::unique_ptr<actor_ctor> ctor_;
  worker_pool* pool_;
  caf::actor host_;
  const bool remote_;
  const uint64_t id_;
  int max_concurrency_;
  /// The node of the current instance of a remote actor (state API).
  uint16_t remote_node_ = 0;
  /// The job that created it (job_id() when it was made; state API).
  std::string job_;

  mutable std::mutex mtx_;
  state state_ = state::need_ctor;
  /// Counts instances: bumped at each death, so jobs and runs of a dead
  /// instance recognize themselves as stale.
  uint64_t epoch_ = 1;
  std::shared_ptr<void> instance_;
  std::deque<call_ptr> queue_;
  std::vector<call_ptr> running_;
  /// A coroutine that may continue, the epoch it belongs to, its call.
  struct resume_entry {
    void* addr;
    uint64_t epoch;
    const actor_call* call;
  };
  std::deque<resume_entry> resumes_;
  size_t in_flight_ = 0;
  size_t drainers_ = 0;
  /// An async actor's one drainer is running (from its start to its
  /// retirement, lingering included), or a caller holds its place
  /// (`run_inline`): whoever holds it alone runs the actor's coroutines.
  /// Without it, `drainers_ == 1` is a drain job still waiting in the pool.
  bool drain_running_ = false;
  /// Drain jobs of an async actor still waiting in the pool whose place a
  /// caller took (`run_inline`): the first ones to start return at once, so
  /// that the queued jobs never add a second drainer.
  size_t stale_drains_ = 0;
  bool lease_held_ = false;
  bool lease_requested_ = false;
  bool handles_gone_ = false;
  std::string cause_;
  std::vector<actor_state_change> history_;
  std::atomic<int> restarts_{0};
  /// Bumped on every push of work; read without the lock by a drain job
  /// that lingers for the next call.
  std::atomic<uint64_t> pushes_{0};
  /// Whether `admit` has work to do (see screens_calls).
  bool screens_ = false;
  /// Calls counted against max_pending_calls.
  std::atomic<int> pending_{0};
  /// Concurrency groups (empty: none): index 0 is the default group, then
  /// the named ones in the order given. Limits, names, calls running now.
  std::vector<int> group_limits_;
  std::vector<std::string> group_names_;
  std::vector<int> group_running_;
  /// The group of each method given one (registry name, group index).
  std::vector<std::pair<const std::string*, uint8_t>> method_groups_;
};

/// Throws `invalid_argument_error` naming `actor` for a bad
/// `max_pending_calls` or bad concurrency groups (`remote`: the actor is
/// placed on another node, which keeps no groups).
void check_call_options(const actor_options& opts, const std::string& actor, bool remote);

/// Takes call `c`'s waiter off the arguments it waits for (a call failed
/// or dropped before they were sealed).
void unregister_waiters(actor_call& c);

/// Remembers the call the calling thread submitted last (its actor and
/// result), for `run_submitted_call`.
void note_submitted_call(const std::shared_ptr<actor_core>& core, const object_slot& result);

/// If `slot` is the result of the call the calling thread submitted last,
/// tries to run that call here (actor_core::run_inline); true if it ran.
/// Called by `get` before it blocks without a deadline.
bool run_submitted_call(const object_slot& slot);

/// The actor whose code the calling thread runs now, or null.
actor_core*& current_actor() noexcept;

/// The actor call the calling thread runs now, or null (log capture).
const actor_call*& current_call() noexcept;

} // namespace manta::detail
