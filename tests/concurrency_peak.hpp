#pragma once

// How many calls run at once: the count the tests of concurrency limits
// read (an actor's max_concurrency, tasks' CPUs and resources, a caller
// running the task it waits for).

#include <atomic>
#include <chrono>
#include <thread>

namespace manta_test {

/// The calls running now and the most that ran at once since `reset`.
struct concurrency_peak {
  std::atomic<int> now{0};
  std::atomic<int> most{0};

  void reset() {
    now = 0;
    most = 0;
  }

  /// Counts a call in, sleeps `ms` milliseconds, counts it out; returns `ms`.
  int hold_for(int ms) {
    int in = ++now;
    int seen = most.load();
    while (in > seen && !most.compare_exchange_weak(seen, in)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    --now;
    return ms;
  }
};

} // namespace manta_test
