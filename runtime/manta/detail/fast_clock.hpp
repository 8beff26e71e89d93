#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace manta::detail {

/// Nanoseconds from the CPU's time-stamp counter, for the task event
/// recorder, which reads the clock three times per task: `rdtsc` costs
/// about 16 ns on this project's virtual machines, `steady_clock::now()`
/// about 42 ns (a quarter of the recorder's whole cost per task). Used
/// where the TSC is invariant (constant rate, running in every C-state),
/// scaled by a rate measured against steady_clock once (2 ms) at first use;
/// elsewhere it is steady_clock. Only differences and conversions through
/// the same clock are meaningful.
class fast_clock {
public:
  static int64_t now_ns() noexcept {
#if defined(__x86_64__)
    static const scale s = calibrate();
    if (s.mult != 0)
      return static_cast<int64_t>((static_cast<unsigned __int128>(__rdtsc()) * s.mult) >> 32);
#endif
    return steady_ns();
  }

  static int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
  }

private:
  /// Nanoseconds per tick in 32.32 fixed point; 0 if the TSC is unusable.
  struct scale {
    uint64_t mult = 0;
  };

  static scale calibrate() noexcept;
};

} // namespace manta::detail
