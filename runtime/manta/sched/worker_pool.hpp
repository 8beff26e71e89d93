#pragma once

#include "manta/sched/task_spec.hpp"
#include "manta/resources.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <unordered_map>
#include <vector>

namespace manta::detail {

class wait_target;

/// One wait of a pool thread's task that runs the tasks it waits for and
/// its own children meanwhile (blocking.hpp, `helping_wait`); lives on the
/// waiting stack.
struct help_record {
  const wait_target* target = nullptr;
  task_spec* task = nullptr;
  parker* wake = nullptr;
  /// The waiting task's id (queued::parent of its children).
  uint64_t id = 0;
  /// The CPUs to lend at the first help_step, then those lent (0 once
  /// reclaimed).
  double to_lend = 0;
  double lent = 0;
  /// help_step took the pool's lock: help_end has resources to grant.
  bool locked_once = false;
  bool registered = false;
  /// A granted task it may run was left for this thread.
  bool claimed = false;
};

/// Whether a waiting thread may run `t` on its stack: a plain task, not an
/// actor's job (which holds the actor and may linger for its next call) nor
/// a job that keeps its lease (a placement group's reservation).
inline bool helpable(const task_spec& t) noexcept {
  return t.lease_owner() == &t && !t.keeps_lease;
}

/// The id by which a waiting task knows its children: its result's, 0 for
/// what no thread may run under a wait (`helpable`).
inline uint64_t task_id(const task_spec& t) noexcept {
  return helpable(t) && t.result ? t.result->id().value() : 0;
}

/// How many waits may nest on one thread's stack (each runs a task under a
/// waiting one); past it a wait lends its CPUs and parks, as before, so a
/// deep recursion cannot overflow the stack.
constexpr int max_help_depth = 32;

/// Starts a helping wait of the calling thread's task: lends its CPUs
/// without granting them yet (what it waits for gets them first). False if the
/// thread cannot help (not a plain task on a pool thread, inside an actor,
/// or too deep): then nothing was done.
bool help_begin(help_record& h) noexcept;

/// Runs on this thread one task `h` waits for, or else one of its children,
/// if one is ready (true), else registers the thread to be woken for one
/// (false: park).
bool help_step(help_record& h);

/// Ends the wait: reclaims the CPUs, and starts a thread for a task this
/// thread was woken for but leaves.
void help_end(help_record& h) noexcept;

/// The node's CPUs (and custom resources) and the threads that run user
/// code. A task whose arguments exist is `schedule`d: it gets a lease on its
/// resources at once if they are free and nobody with the same demand waits
/// before it, otherwise it queues. A pool thread runs it, seals its result,
/// gives the lease back and runs the next granted task without any hand-over.
///
/// Leases and the run queue share one lock: granting, queueing and
/// releasing are a few dozen instructions, far cheaper than a message round
/// trip through an actor for each task (which would be 3-4 scheduler
/// activations per task, the main cost on a small machine).
///
/// CAF's scheduler threads never run user code: a task may block (sleep,
/// I/O, a nested `get`). A task blocked in `get` lends its CPUs back
/// (`lend`/`reclaim`), so nested and recursive tasks cannot deadlock, and
/// meanwhile runs the tasks it waits for and its own children on its own
/// stack (`help_step`, worker_pool_help.cpp); the pool starts a thread only
/// when a granted task finds no idle thread and no waiting parent to run it.
class worker_pool {
public:
  /// What the pool does with a granted task on one of its threads: run it
  /// and say whether to schedule it again (a retry).
  using run_fn = bool (*)(const task_ptr&);

  /// `core_threads` threads start at once and stay; more start on demand.
  worker_pool(double cpus, resource_map custom, size_t core_threads, run_fn run);

  /// How long a thread beyond the core threads waits for work before exiting.
  static constexpr std::chrono::milliseconds idle_timeout{1000};
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Leases the task's resources and runs it, now or when they free up.
  void schedule(task_ptr t);

  /// Leases the task's resources and runs it only if they are free now and
  /// no task with the same demand waits; otherwise returns false and leaves
  /// `t` alone (a cluster then places it on another node).
  bool try_schedule(task_ptr& t);

  /// Called by a thread outside the pool that blocks on `slot`: takes the
  /// task producing it, if it is granted and not picked up yet (or queued
  /// first for resources that are free now), and runs it on the calling
  /// thread with its lease, as a pool thread would (worker_pool_caller.cpp).
  /// Only the task the thread submitted last, as a synchronous actor call
  /// runs inline only if it is the thread's last call: the earlier tasks of
  /// a list are left to the pool threads, which run them back to back.
  /// False if there is no such task (or the caller is a pool thread or
  /// inside an actor's code): the caller then parks.
  bool run_here(const object_slot& slot);

  /// Leases the task's resources for the calling thread, outside the pool,
  /// if they are free now and no task with the same demand waits (as
  /// `try_schedule` would grant them); false otherwise (nothing done). The
  /// task granted then goes to `run_granted` or, if that thread cannot run
  /// it after all, `pass_granted`: a task lane's spec run on the data path
  /// thread that read it (actors/task_lane_host.cpp).
  bool try_grant(const task_ptr& t);

  /// Runs a task `try_grant` granted on the calling thread (not a pool
  /// thread, no task running on it) as a pool thread would: with its lease,
  /// through the pool's run function, a retry queued again, then the lease
  /// given back (as `run_here`).
  void run_granted(task_ptr t);

  /// Hands a task `try_grant` granted to the pool's threads (if the pool
  /// stopped: its lease back, the task fails as not run).
  void pass_granted(task_ptr t);

  /// Takes off the queues at most `limit` tasks that wait for resources
  /// (granted or running ones are never taken) and whose result ids are in
  /// `ids`, the newest first: another node runs them instead (work
  /// stealing, actors/hosted_queue.hpp).
  std::vector<task_ptr> withdraw(const std::vector<uint64_t>& ids, size_t limit);

  /// Gives back a lease kept by a `keeps_lease` task (a dead actor's);
  /// `owner` is its `lease_owner()`.
  void release(const resource_demand& d, const void* owner);

  /// The GPUs (by index, 0 to the node's count - 1) leased to `owner` (a
  /// task or an actor); empty if none.
  std::vector<int> gpu_ids(const void* owner) const;

  /// Free and total resources, CPUs under "CPU".
  std::pair<resource_map, resource_map> resources() const;

  /// Number of tasks waiting for resources.
  size_t num_queued() const;

  /// Stops the pool: queued tasks fail with `task_cancelled_error`; idle
  /// threads exit; threads still inside user code get `grace` to finish
  /// and are then left behind (detached), so a task that never returns
  /// cannot hang shutdown. Returns the number of threads left behind.
  size_t stop(std::chrono::milliseconds grace);

  /// Threads started so far.
  size_t num_threads() const;

private:
  /// A queued task and its submitter's id (worker_pool_state.hpp).
  struct queued;
  /// The tasks waiting for one demand (worker_pool_state.hpp).
  struct waiting_group;
  /// Everything the threads touch (worker_pool_state.hpp): defined apart
  /// so that a change to the pool's internals rebuilds only its own files,
  /// not every file that includes the runtime.
  struct state;

  friend void lend_current_cpus() noexcept;
  friend void wake_for_left_task() noexcept;
  friend void reclaim_current_cpus() noexcept;
  friend bool help_begin(help_record& h) noexcept;
  friend bool help_step(help_record& h);
  friend void help_end(help_record& h) noexcept;

  static void worker_loop(std::shared_ptr<state> st);

  /// Runs `q`, taken off the queues of `st` (this pool's state) with its
  /// lease, on the calling thread outside the pool (`run_here`,
  /// `run_granted`), then gives its lease back.
  static void run_taken(state& st, queued q);

  std::shared_ptr<state> st_;
};

/// Fails a task the pool will not run: it stops.
void seal_not_run(task_spec& t);

/// What the calling thread runs now, if it is a pool thread.
struct task_context {
  task_spec* task = nullptr;
  /// The pool's state; lives as long as the thread does.
  void* pool = nullptr;
  /// The task's id (queued::parent of its children); 0 for an actor's job.
  uint64_t id = 0;
  /// How many waiting tasks this thread's stack holds under the running one.
  int depth = 0;
  /// On a thread outside the pool: the result of the task it handed to the
  /// pool last, the one a `get` right after runs itself (`run_here`).
  const object_slot* last_scheduled = nullptr;
  /// Set by `submit` while it hands a task over from user code: the thread
  /// may `get` it at once and run it itself.
  bool submitting = false;
  /// The pool (its state) this thread's tasks were last left to it in without
  /// a wake-up (state::watch_wanted), kept once they are taken (a park checks
  /// the pool); empty if none. Weak: the runtime may shut down meanwhile.
  std::weak_ptr<void> left_in;
};

task_context& this_task() noexcept;

/// Called when the calling pool thread's task blocks in `get`: its CPUs
/// may serve other tasks meanwhile. No-op on other threads.
void lend_current_cpus() noexcept;

/// Called when that task runs again (may overcommit until others finish).
void reclaim_current_cpus() noexcept;

/// Called by a thread about to park: wakes a pool thread for the task it
/// left to itself without a wake-up, if that task still waits (its `get`
/// did not run it: a deadline, another object). No-op otherwise.
void wake_for_left_task() noexcept;

} // namespace manta::detail
