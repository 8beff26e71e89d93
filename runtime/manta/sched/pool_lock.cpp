// The worker pool's lock's slow paths (pool_lock.hpp): a short spin while
// the holder runs its few dozen instructions, then a futex wait, as glibc's
// adaptive mutex, the pool's lock before, did. The spin stays on an
// oversubscribed machine too: the holder is nearly always on its core
// (it holds the lock for a few dozen instructions), and a waiter that goes
// to sleep at once costs the holder a futex wake in its unlock (spawn + get
// measured slower so under a load average of 10).

#include "manta/sched/pool_lock.hpp"

#include "manta/sched/parker.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace manta::detail {

namespace {

/// How many pauses a thread waits for the lock before it sleeps: about the
/// time of glibc's adaptive mutex's spin (100 tries), a few times the lock's
/// hold time.
constexpr int lock_spin_steps = 100;

} // namespace

void pool_lock::lock_slow() noexcept {
  for (int i = 0; i < lock_spin_steps; ++i) {
    cpu_relax();
    if (word_.load(std::memory_order_relaxed) == 0 && try_lock())
      return;
  }
  // Marks the lock contended, so that its holder's unlock wakes a sleeper;
  // a thread that finds it free so takes it contended (a wake-up too many
  // at worst, never one too few).
  while (word_.exchange(contended, std::memory_order_acquire) != 0)
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), FUTEX_WAIT_PRIVATE, contended, nullptr,
            nullptr, 0);
}

void pool_lock::wake_one() noexcept {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

} // namespace manta::detail
