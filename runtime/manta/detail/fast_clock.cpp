#include "manta/detail/fast_clock.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace manta::detail {

fast_clock::scale fast_clock::calibrate() noexcept {
  scale out;
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) == 0 || a < 0x80000007)
    return out;
  __get_cpuid(0x80000007, &a, &b, &c, &d);
  if ((d & (1u << 8)) == 0) // no invariant TSC
    return out;
  auto ns0 = steady_ns();
  auto t0 = __rdtsc();
  int64_t ns1 = ns0;
  while (ns1 - ns0 < 2'000'000)
    ns1 = steady_ns();
  auto t1 = __rdtsc();
  if (t1 <= t0)
    return out;
  auto per_tick = static_cast<double>(ns1 - ns0) / static_cast<double>(t1 - t0);
  out.mult = static_cast<uint64_t>(per_tick * 4294967296.0);
#endif
  return out;
}

} // namespace manta::detail
