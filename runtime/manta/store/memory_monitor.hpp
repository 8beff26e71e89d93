#pragma once

#include "manta/store/memory_gauge.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace manta::detail {

/// Ray's memory monitor for a node whose tasks are threads: a thread reads
/// the node's memory use (`memory_gauge`) every `interval`, and when it is
/// at least `threshold` of the limit, stops one running task before the
/// kernel kills the whole node. The task's thread gets `std::bad_alloc`
/// from its next `operator new` (allocation_hook.hpp), unwinds and frees
/// what it held; the runtime then retries it (while its `max_retries`
/// last) or fails it with `out_of_memory_error`, and the node goes on.
///
/// Victim policy, "retriable LIFO" (Ray's before its group-by-owner
/// policy): the most recently started task that may still be retried; if
/// none may, the most recently started task. The newest task has done the
/// least work, and a retriable one loses none of the caller's. One victim
/// at a time: the next is chosen only once the last one ended (its memory
/// is then given back to the system, `malloc_trim`) or did not end within
/// `victim_grace` (it allocates nothing, e.g. it blocks).
///
/// Only tasks are stopped; actor methods and the runtime's own threads are
/// not.
class memory_monitor {
public:
  struct settings {
    /// Share of the limit at which a task is stopped (Ray's
    /// `memory_usage_threshold`), in (0, 1].
    double threshold = 0.95;
    /// Bytes; 0: the container's or the machine's limit (memory_gauge).
    uint64_t limit = 0;
    /// How often the use is read (one read of a /proc or cgroup file).
    std::chrono::milliseconds interval{50};
  };

  /// How long a stopped task may take to end before another is chosen.
  static constexpr std::chrono::milliseconds victim_grace{1000};

  /// Starts the monitor's thread.
  explicit memory_monitor(settings s);

  /// Stops it.
  ~memory_monitor();

  memory_monitor(const memory_monitor&) = delete;
  memory_monitor& operator=(const memory_monitor&) = delete;

  // -- on executor threads, around each run of a task ---------------------------

  /// The calling thread starts a run of a task; `retriable`: it may run
  /// again if stopped. `started_ns`: the run's start as the task recorder
  /// took it (`task_events::on_start`), which then serves as the run's id
  /// without a second read of the clock; 0: read here.
  static void begin_run(bool retriable, int64_t started_ns = 0) noexcept;

  /// The run ends; returns whether the monitor stopped it (then the memory
  /// it freed is handed back to the system).
  static bool end_run() noexcept;

  /// The text of the `out_of_memory_error` of a stopped task: the node, its
  /// use and limit when the task was stopped, the threshold, and what to do.
  static std::string stop_message(const std::string& task, const std::string& node, int runs);

  /// Tasks stopped since the process started.
  static uint64_t stops() noexcept;

private:
  void loop();
  /// One reading; stops a task if the use is over the threshold.
  void check();

  settings settings_;
  memory_gauge gauge_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  /// The run stopped last and when (0: none pending).
  uint64_t victim_ = 0;
  std::chrono::steady_clock::time_point victim_since_;
  std::thread thread_;
};

} // namespace manta::detail
