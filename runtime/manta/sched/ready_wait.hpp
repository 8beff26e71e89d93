#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace manta::detail {

class parker;

/// The lock and the wait of a list that one consumer drains while others
/// append to it: `as_completed`'s completion_queue and a generator's
/// item_stream. The owner keeps its list (and whatever else it guards) under
/// `mutex()`; a producer changes it through `notify`, which wakes the
/// consumer, and the consumer takes from it through `wait`, which parks
/// between tries. One thread waits at a time (the list's one consumer).
///
/// A consumer blocked here lends its task's CPUs like one blocked in `get`,
/// and stops with task_cancelled_error when its task is cancelled.
class ready_wait {
public:
  using clock = std::chrono::steady_clock;

  /// The lock that guards the owner's list.
  std::mutex& mutex() const noexcept { return mtx_; }

  /// Runs `change()` under the lock, then wakes the consumer if it waits.
  template <class Change>
  void notify(Change&& change) {
    parker* wake = nullptr;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      change();
      ++notified_;
      wake = sleeper_;
    }
    if (wake != nullptr)
      unpark(wake);
  }

  /// Calls `take(lock)` under the lock until it returns true (it took what
  /// it waits for, or knows none will come; it may unlock `lock`), then
  /// returns true; returns false once `deadline` passes first.
  template <class Take>
  bool wait(clock::time_point deadline, Take&& take) {
    std::unique_lock<std::mutex> lock{mtx_};
    for (;;) {
      if (take(lock))
        return true;
      if (clock::now() >= deadline)
        return false;
      if (!sleep(lock, deadline))
        return take(lock); // a simulation's virtual deadline passed
    }
  }

private:
  /// Parks the calling thread (with `lock` released) until a `notify` or
  /// `deadline`, or throws if its task was cancelled; `lock` is held again
  /// on return. On the thread that drives a simulation (sim_hooks.hpp) it
  /// runs the simulation's events instead, until a `notify` (true) or the
  /// virtual `deadline` (false).
  bool sleep(std::unique_lock<std::mutex>& lock, clock::time_point deadline);

  static void unpark(parker* p) noexcept;

  mutable std::mutex mtx_;
  parker* sleeper_ = nullptr; // the consumer blocked in wait, if any
  /// Notifies so far: a simulation's wait runs events until it changes.
  uint64_t notified_ = 0;
};

} // namespace manta::detail
