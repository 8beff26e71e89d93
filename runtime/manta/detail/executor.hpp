#pragma once

#include "manta/detail/task_spec.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace manta::detail {

/// The threads that run user code. CAF's scheduler threads only run the
/// runtime's actors; a task may block (sleep, I/O, a nested `get`), so it
/// runs here instead. The pool starts a thread whenever a task is handed over
/// and no thread is free, which keeps blocked tasks from starving granted
/// ones; how many tasks run at once is bounded by the node manager's leases,
/// not by the pool.
class executor {
public:
  /// What to do with a task on a pool thread (set by the runtime).
  using run_fn = void (*)(const task_ptr&);

  executor(size_t initial_threads, run_fn run);
  ~executor();

  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  /// Queues a task whose lease has been granted.
  void submit(task_ptr t);

  /// Stops the pool: idle threads exit at once; threads still inside user
  /// code get `grace` to finish and are then detached, so a task that never
  /// returns cannot hang shutdown. Returns the number of detached threads.
  size_t stop(std::chrono::milliseconds grace);

  /// True while the pool accepts work; detached threads check it before
  /// touching the runtime again.
  bool running() const noexcept { return shared_->running.load(); }

  /// Number of threads started so far (for tests and tools).
  size_t num_threads() const;

private:
  struct shared_state {
    std::mutex mtx;
    std::condition_variable cv;
    std::condition_variable idle_cv;
    std::deque<task_ptr> queue;
    std::atomic<size_t> queued{0};
    size_t idle = 0;
    size_t sleeping = 0;
    size_t live = 0;
    bool stop = false;
    std::atomic<bool> running{true};
    run_fn run;
  };

  static void worker_loop(std::shared_ptr<shared_state> st);
  void start_thread();

  std::shared_ptr<shared_state> shared_;
  std::vector<std::thread> threads_;
};

} // namespace manta::detail
