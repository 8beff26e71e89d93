#include "manta/sched/contention.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

namespace manta::detail {

namespace {

/// How often the runnable count is read: often enough to follow a load
/// that comes and goes within a benchmark run, rarely enough that the read
/// (an open, a read, a close: a few microseconds) costs nothing.
constexpr int64_t refresh_ns = 4'000'000;

std::atomic<int> g_spinners{0};
std::atomic<int64_t> g_next_check{0};
std::atomic<bool> g_over{false};
std::atomic<int> g_runnable{-1};
std::atomic<int> g_seen_spinners{0};

/// Whether the calling thread is inside a `spin_scope` (counted in
/// `g_spinners`).
thread_local bool t_spinning = false;

int online_cores() noexcept {
  // The runnable count covers the whole machine, so the cores are the
  // machine's too (not this process's affinity mask).
  static const int n = std::max(1, get_nprocs());
  return n;
}

/// The fourth field of /proc/loadavg, "R/T": R threads runnable now.
int runnable_now() noexcept {
  int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  char buf[128];
  auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  const char* p = buf;
  for (int i = 0; i < 3; ++i) {
    p = std::strchr(p, ' ');
    if (p == nullptr)
      return -1;
    ++p;
  }
  return std::atoi(p);
}

/// The coarse monotonic clock (the last tick's time, one read of the vDSO
/// page, no TSC read): `oversubscribed` is asked on every hand-over of a
/// task and every few steps of a spin, and needs only to know when a
/// refresh period has passed.
int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

bool oversubscribed() noexcept {
  auto now = now_ns();
  auto next = g_next_check.load(std::memory_order_relaxed);
  if (now >= next
      && g_next_check.compare_exchange_strong(next, now + refresh_ns, std::memory_order_relaxed)) {
    int r = runnable_now();
    int spinners = g_spinners.load(std::memory_order_relaxed);
    g_runnable.store(r, std::memory_order_relaxed);
    g_seen_spinners.store(spinners, std::memory_order_relaxed);
    // Spinners do not count (they give their core away at once), but one
    // thread that wants to spin does: more than the cores runnable with it
    // means that its spinning keeps someone else off a core. That thread
    // is the reader itself, already among the runnable threads (it runs
    // while it reads), unless it spins now and was subtracted with the
    // spinners: counting it once more (as before) turned the spinning off
    // whenever a single other thread ran on a 2-core machine, e.g. the
    // other end of a cross-node round trip.
    g_over.store(oversubscribed_given(r, spinners, t_spinning, online_cores()),
                 std::memory_order_relaxed);
  }
  return g_over.load(std::memory_order_relaxed);
}

bool no_core_to_spare() noexcept {
  if (oversubscribed())
    return true;
  // The reader counted once more: it must leave a core to the threads
  // running now, itself included.
  return oversubscribed_given(g_runnable.load(std::memory_order_relaxed),
                              g_seen_spinners.load(std::memory_order_relaxed), true,
                              online_cores());
}

bool oversubscribed_given(int runnable, int spinners, bool reader_spins, int cores) noexcept {
  return runnable >= 0 && runnable - spinners + (reader_spins ? 1 : 0) > cores;
}

spin_scope::spin_scope() noexcept {
  g_spinners.fetch_add(1, std::memory_order_relaxed);
  t_spinning = true;
}

spin_scope::~spin_scope() {
  t_spinning = false;
  g_spinners.fetch_sub(1, std::memory_order_relaxed);
}

contention_sample last_contention_sample() noexcept {
  return {g_runnable.load(std::memory_order_relaxed),
          g_seen_spinners.load(std::memory_order_relaxed), online_cores()};
}

} // namespace manta::detail
