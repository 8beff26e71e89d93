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
  /// A queued task and the id of the task that submitted it (0: none, or an
  /// actor's code): a waiting task runs only what it waits for and its own
  /// children, so unrelated work never runs under it.
  struct queued {
    queued(task_ptr t, uint64_t p) : task(std::move(t)), parent(p), result(task->result.get()) {}
    task_ptr task;
    uint64_t parent = 0;
    /// The task's result, read by a waiting thread's scan without touching
    /// the task (a cache miss per queued task).
    const object_slot* result = nullptr;
  };

  struct waiting_group {
    resource_demand demand;
    std::deque<queued> tasks;
  };

  /// Everything the threads touch; shared so threads left behind at
  /// shutdown never outlive it.
  struct state : std::enable_shared_from_this<state> {
    mutable std::mutex mtx;
    std::condition_variable work_cv;
    std::condition_variable exit_cv;
    /// The watcher's own wait (see `watch_wanted`), apart from `work_cv` so
    /// that a wake-up for a task goes to a plain sleeper first.
    std::condition_variable watch_cv;
    double free_cpus;
    double total_cpus;
    resource_map free_custom;
    resource_map total_custom;
    /// Tasks waiting for resources, one FIFO per distinct demand: nearly
    /// every task asks for {CPU: 1}, so granting is O(1) per task.
    std::vector<waiting_group> waiting;
    /// Granted tasks not yet picked up by a thread.
    std::deque<queued> runnable;
    std::atomic<size_t> num_runnable{0};
    size_t idle = 0;
    /// Threads waiting on `work_cv`, and the wake-ups sent to them that
    /// none of them took yet: a second task never counts on a sleeper
    /// already woken for the first.
    size_t sleeping = 0;
    size_t signaled = 0;
    /// Tasks left to their submitters: a thread outside the pool that
    /// submits a granted task usually `get`s it at once and runs it itself
    /// (worker_pool_caller.cpp), so waking a pool thread for it only costs
    /// a futex wake, a context switch and a fight for this lock (most of the
    /// time of one task at a time on an oversubscribed machine). Such a task
    /// wakes nobody while the watcher sleeps in its timed wait: the watcher
    /// runs it within `watch_period` if its submitter does not (a park of
    /// the submitter's thread wakes a sleeper for it at once:
    /// `wake_for_left_task`). `watch_wanted`: a task was submitted so; the
    /// next thread to sleep becomes the watcher (`watcher`), asleep in
    /// `watch_cv` while `watching`, and stays one until `watch_rounds`
    /// periods pass with no task left so (`left_count` unchanged).
    bool watch_wanted = false;
    bool watcher = false;
    bool watching = false;
    uint64_t left_count = 0;
    /// A task was left so and may still wait (cleared by a wake for it).
    bool left_pending = false;
    /// Idle threads spinning for work; at most one, so that idle threads
    /// do not take the cores from the threads that produce the work.
    size_t spinning = 0;
    size_t live = 0;
    /// Threads kept even when idle; threads started beyond these (for tasks
    /// blocked in get) exit after `idle_timeout` without work.
    size_t core_threads = 1;
    bool stopping = false;
    run_fn run;
    std::unordered_map<std::thread::id, std::thread> threads;
    /// Threads that left their loop and wait to be joined.
    std::vector<std::thread::id> exited;
    /// Threads whose task waits and that may run a task it waits for or a child.
    std::vector<help_record*> helpers;

    /// Takes `d` for `owner` if it is free, GPUs by index (gpu_slots).
    bool try_take(const resource_demand& d, const void* owner);
    void give_back(const resource_demand& d, const void* owner);
    /// What is free of each GPU of the node (a fraction of one may be
    /// leased, as in Ray), and which GPUs each owner holds how much of.
    std::vector<double> gpu_free;
    std::unordered_map<const void*, std::vector<std::pair<int, double>>> gpu_leases;
    waiting_group& group_for(const resource_demand& d);
    /// Grants waiting tasks what is free. Cancelled tasks it takes off the
    /// queues go to `dropped`, for the caller to destroy with the lock
    /// released (a task's destructor may schedule on this pool).
    void grant_waiting(std::vector<task_ptr>& dropped);
    /// `left_to_caller`: pushed by its submitter, a thread outside the pool
    /// that may run it itself (see `watch_wanted`).
    void push_runnable(queued q, bool left_to_caller = false);
    /// Wakes one idle thread: a sleeper not woken yet, else the watcher.
    void wake_one();
    /// The watcher's timed waits (see `watch_wanted`); returns with the
    /// lock held when there is work, the pool stops or the watch ends.
    void watch(std::unique_lock<std::mutex>& guard);
    /// Queues `t` (moved from) or, once stopping, leaves it to the caller,
    /// who seals it with the lock released: false then. `parent`: the
    /// submitter's id; by default the calling thread's task.
    bool enqueue(task_ptr& t);
    bool enqueue(task_ptr& t, uint64_t parent, bool left_to_caller = false);
    /// Wakes a waiting thread that may run `q` and that no task claimed
    /// yet; false if none.
    bool claim_helper(const queued& q);
    /// Takes a task for `h` to run: the producer of what it waits for, else
    /// its newest child, granted or (with the CPUs it lent) waiting.
    std::optional<queued> pick_for(help_record& h);
    /// Takes the task producing `slot` for a caller outside the pool to
    /// run: granted, or first in its FIFO with its resources free.
    std::optional<queued> take_awaited(const object_slot& slot);
    void lend(double cpus, std::vector<task_ptr>& dropped);
    void reclaim(double cpus);
    void start_thread();
    void join_exited();
  };

  friend void lend_current_cpus() noexcept;
  friend void wake_for_left_task() noexcept;
  friend void reclaim_current_cpus() noexcept;
  friend bool help_begin(help_record& h) noexcept;
  friend bool help_step(help_record& h);
  friend void help_end(help_record& h) noexcept;

  static void worker_loop(std::shared_ptr<state> st);

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
