#pragma once

#include <atomic>
#include <cstdint>

namespace manta::detail {

/// The worker pool's lock (worker_pool_state.hpp): a futex word with a
/// short spin, locked and unlocked inline. The pool takes its lock about
/// three times a task, each time for a few dozen instructions; glibc's
/// adaptive `pthread_mutex_t` (which `std::condition_variable` needs) spent
/// about 40 instructions a lock and as many an unlock on type and elision
/// checks and its owner's bookkeeping, a sixth of the instructions of
/// no-op tasks one at a time beside the lock's own atomic operations. The
/// pool's sleeping threads wait in `std::condition_variable_any`s on it
/// instead, whose extra cost is on waits and wake-ups only.
class pool_lock {
public:
  /// Takes the lock; spins briefly, then sleeps in the kernel.
  void lock() noexcept {
    uint32_t free = 0;
    if (!word_.compare_exchange_strong(free, locked, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      lock_slow();
  }

  /// Takes the lock if it is free.
  bool try_lock() noexcept {
    uint32_t free = 0;
    return word_.compare_exchange_strong(free, locked, std::memory_order_acquire,
                                         std::memory_order_relaxed);
  }

  /// Releases the lock and wakes one sleeper if any.
  void unlock() noexcept {
    if (word_.exchange(0, std::memory_order_release) == contended)
      wake_one();
  }

private:
  /// 0: free; `locked`: held, nobody asleep; `contended`: held, maybe
  /// sleepers (the classic three-state futex lock).
  static constexpr uint32_t locked = 1;
  static constexpr uint32_t contended = 2;

  void lock_slow() noexcept;
  void wake_one() noexcept;

  std::atomic<uint32_t> word_{0};
};

} // namespace manta::detail
