#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

/// The task recorder's clock: steady-clock nanoseconds read from the CPU's
/// time-stamp counter. The recorder reads the clock three times per task;
/// `steady_clock::now()` goes through the vDSO's `rdtscp`, which waits for
/// every load before it (the task's cache misses): ~12% of one task at a
/// time's profile (docs/performance.md, issue 25 item 1). A plain `rdtsc`
/// does not wait, so it may read up to ~0.1 us early against a load before
/// it (tsc_clock_test); the recorder keeps a task's start after its
/// submission and its end after its start. Used only where the TSC is
/// invariant (CPUID 0x80000007 EDX bit 8) and the kernel's clock source.
///
/// Scale: nanoseconds = `ns0 + (tsc - tsc0) * mult / 2^32` per anchor. The
/// first anchor is measured against steady_clock over 200 us at first use;
/// later ones are taken at growing intervals (1 ms, then 4 times the
/// clock's age, up to 1 s), each continuing the previous one at its switch
/// point (times never jump) with the slope that meets steady_clock at the
/// next switch: the clock stays within ~0.1 us of steady_clock (measured
/// by tsc_clock_test: tens of ns off in 300 ms of reads).
namespace manta::detail::tsc_clock {

inline int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// The current scale, behind a sequence lock (odd while it changes).
struct state {
  std::atomic<uint32_t> seq{0};
  std::atomic<uint64_t> tsc0{0};
  std::atomic<int64_t> ns0{0};
  std::atomic<uint64_t> mult{0};
  /// Ticks after `tsc0` past which a reader takes the next anchor.
  std::atomic<uint64_t> until{0};
  /// Whether the TSC is used at all (else steady_clock).
  bool usable = false;
  /// Set by the reader that takes the next anchor.
  std::atomic<bool> busy{false};
  /// The first measurement, the base of the long-run rate.
  uint64_t first_tsc = 0;
  int64_t first_ns = 0;
};

/// The process' scale, calibrated at first use.
state& global() noexcept;

/// The reads outside the current anchor's interval (and a torn read).
int64_t slow_now(uint64_t tsc) noexcept;

/// Whether the TSC is used (false: `now_ns` is steady_clock).
inline bool uses_tsc() noexcept {
  return global().usable;
}

inline int64_t now_ns() noexcept {
#if defined(__x86_64__)
  auto& s = global();
  if (!s.usable)
    return steady_ns();
  // The compiler's builtin behind `__rdtsc`: x86intrin.h, which declares it,
  // is 63,000 lines that every file including manta.hpp would parse.
  uint64_t t = __builtin_ia32_rdtsc();
  auto q = s.seq.load(std::memory_order_acquire);
  auto tsc0 = s.tsc0.load(std::memory_order_relaxed);
  auto ns0 = s.ns0.load(std::memory_order_relaxed);
  auto mult = s.mult.load(std::memory_order_relaxed);
  auto until = s.until.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  // (t - tsc0) wraps above `until` when t predates a newer anchor.
  if ((q & 1) != 0 || s.seq.load(std::memory_order_relaxed) != q || t - tsc0 >= until)
    return slow_now(t);
  return ns0 + static_cast<int64_t>((static_cast<unsigned __int128>(t - tsc0) * mult) >> 32);
#else
  return steady_ns();
#endif
}

} // namespace manta::detail::tsc_clock
