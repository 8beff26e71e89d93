#pragma once

#include <atomic>
#include <thread>

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
    while (flag_.exchange(true, std::memory_order_acquire)) {
      for (int i = 0; i < 64 && flag_.load(std::memory_order_relaxed); ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      if (flag_.load(std::memory_order_relaxed))
        std::this_thread::yield();
    }
  }

  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

private:
  std::atomic<bool> flag_{false};
};

} // namespace manta::detail
