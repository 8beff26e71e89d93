#include "manta/sched/parker.hpp"

#include "manta/sched/contention.hpp"
#include "manta/sched/worker_pool.hpp"

#include <climits>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace manta::detail {

namespace {

void futex_wait(std::atomic<uint32_t>* addr, uint32_t expected, const timespec* timeout) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAIT_PRIVATE, expected, timeout,
          nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>* addr) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

} // namespace

void spin_step(int i) noexcept {
  if (i < 200)
    cpu_relax();
  else
    sched_yield();
}

void parker::unpark() noexcept {
  if (word_.exchange(notified, std::memory_order_release) == sleeping)
    futex_wake(&word_);
}

bool parker::consume() noexcept {
  // A read-modify-write, never a plain store: a plain `store(idle)` could
  // overwrite an unpark that landed right after we read `notified` (a stale
  // one from an earlier wait), and on x86 the caller's next load of its
  // condition may pass a plain store, so that wake-up would be lost and the
  // thread would sleep forever on a condition that is already true.
  uint32_t expected = notified;
  return word_.compare_exchange_strong(expected, idle, std::memory_order_acq_rel);
}

bool parker::park_until(clock::time_point deadline) noexcept {
  // Phase 1: spin. Most waits in a busy runtime end within microseconds, and
  // a sleeping thread costs 5-50 us to wake. Not on an oversubscribed
  // machine: there the thread we wait for may not be running, our spin
  // keeps it off a core, and each yield gives a time slice to a busy
  // thread, while a futex sleeper is woken ahead of busy threads.
  if (word_.load(std::memory_order_relaxed) == notified && consume())
    return true;
  // A task this thread submitted and left to itself (worker_pool.hpp,
  // watch_wanted) gets a pool thread now, not at the watcher's next look.
  wake_for_left_task();
  if (!oversubscribed()) {
    spin_scope counted;
    for (int i = 0; i < spin_steps; ++i) {
      if (word_.load(std::memory_order_relaxed) == notified && consume())
        return true;
      if (i % spin_check_steps == spin_check_steps - 1 && oversubscribed())
        break; // the machine filled up while we spun
      spin_step(i);
    }
  }
  // Phase 2: announce that we sleep, then sleep on the futex.
  uint32_t expected = idle;
  if (!word_.compare_exchange_strong(expected, sleeping, std::memory_order_acq_rel))
    return consume(); // unparked meanwhile
  if (deadline == clock::time_point::max()) {
    futex_wait(&word_, sleeping, nullptr);
  } else {
    auto left = deadline - clock::now();
    if (left.count() > 0) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      futex_wait(&word_, sleeping, &ts);
    }
  }
  return word_.exchange(idle, std::memory_order_acq_rel) == notified;
}

parker& parker::this_thread() noexcept {
  thread_local parker instance;
  return instance;
}

} // namespace manta::detail
