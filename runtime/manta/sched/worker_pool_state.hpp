#pragma once

// The worker pool's internals (worker_pool.hpp): its queues, leases and
// threads' counters. Only the pool's own files include this, so a change here
// rebuilds five files instead of every file that includes the runtime.

#include "manta/sched/worker_pool.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace manta::detail {

/// A queued task and the id of the task that submitted it (0: none, or an
/// actor's code): a waiting task runs only what it waits for and its own
/// children, so unrelated work never runs under it.
struct worker_pool::queued {
  queued(task_ptr t, uint64_t p) : task(std::move(t)), parent(p), result(task->result.get()) {}
  task_ptr task;
  uint64_t parent = 0;
  /// The task's result, read by a waiting thread's scan without touching
  /// the task (a cache miss per queued task).
  const object_slot* result = nullptr;
};

/// The tasks waiting for one demand, in order.
struct worker_pool::waiting_group {
  resource_demand demand;
  std::deque<queued> tasks;
};

/// Everything the threads touch; shared so threads left behind at
/// shutdown never outlive it.
struct worker_pool::state : std::enable_shared_from_this<worker_pool::state> {
  /// Leases, queues and counters; an adaptive mutex (worker_pool.cpp,
  /// `make_adaptive`), which the threads sleep on in the condition
  /// variables below.
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
  /// The task left to its submitter while the watcher sleeps (see
  /// `watch_wanted`), kept out of `runnable` so that the submitter's `get`
  /// takes it back without this lock (`take_left`): the lock's second
  /// acquisition of a task one at a time, and the queue's push, scan and
  /// pop. `left_result` is its result while it is here: null when empty,
  /// `busy()` while its taker moves it out. Written under the lock from
  /// null only; taken by whoever swaps its result for `busy()`.
  /// Kept only while `runnable` is empty: a push, and any other reader of
  /// `runnable`, first moves it there (`unleave`), so that to everyone but
  /// its submitter it is the queue's only entry, as it was.
  std::atomic<const void*> left_result{nullptr};
  std::optional<queued> left;
  /// `left_result` while `left` is moved out: an address no result has.
  const void* busy() const noexcept { return &left; }
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
  /// Takes the task left to its submitter (`left`) if it produces `slot`,
  /// without the lock (worker_pool_caller.cpp).
  std::optional<queued> take_left(const object_slot& slot);
  /// Whether a task is left so (`left`).
  bool has_left() const noexcept { return left_result.load(std::memory_order_acquire) != nullptr; }
  /// Moves the task left to its submitter, if any, to `runnable` (wakes
  /// nobody: the caller decides).
  void unleave();
  void lend(double cpus, std::vector<task_ptr>& dropped);
  void reclaim(double cpus);
  void start_thread();
  void join_exited();
};

} // namespace manta::detail
