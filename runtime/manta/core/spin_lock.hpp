#pragma once

#include <atomic>

namespace manta::detail {

/// A lock for critical sections of a few dozen instructions taken on every
/// task (the task recorder's lists and ring). A contended std::mutex puts
/// the loser to sleep on a futex and the winner pays a wake-up syscall:
/// measured on 2 cores, that alone cut `single_client_tasks_async` by a
/// third. Spinning briefly, then yielding (the holder may be preempted on
/// a loaded machine), never sleeps in the kernel.
class spin_lock {
public:
  void lock() noexcept {
    while (flag_.exchange(true, std::memory_order_acquire))
      wait_until_free();
  }

  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

private:
  /// Spins briefly, then yields, until the lock looks free. Out of line
  /// (spin_lock.cpp): only a contended `lock` comes here, and `<thread>`
  /// stays out of the public headers.
  void wait_until_free() noexcept;

  std::atomic<bool> flag_{false};
};

} // namespace manta::detail
