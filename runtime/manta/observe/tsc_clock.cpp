#include "manta/observe/tsc_clock.hpp"

#include <algorithm>
#include <fstream>
#include <new>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace manta::detail::tsc_clock {

namespace {

struct anchor {
  uint64_t tsc0 = 0;
  int64_t ns0 = 0;
  uint64_t mult = 0;
  uint64_t until = 0;
};

/// One reading of both clocks: the TSC halfway through a steady_clock read.
struct sample {
  uint64_t tsc = 0;
  int64_t ns = 0;
};

constexpr int64_t first_span_ns = 200'000;
constexpr int64_t min_period_ns = 1'000'000;
/// A period is this many times the time since the first sample: the rate's
/// error (two samples' ~50 ns over that time) then moves the clock at most
/// ~0.4 us from steady_clock before the next anchor.
constexpr int64_t growth = 4;
constexpr int64_t max_period_ns = 1'000'000'000;

#if defined(__x86_64__)

bool tsc_usable() {
  unsigned a = 0;
  unsigned b = 0;
  unsigned c = 0;
  unsigned d = 0;
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) == 0 || a < 0x80000007)
    return false;
  __get_cpuid(0x80000007, &a, &b, &c, &d);
  if ((d & (1U << 8)) == 0) // not invariant
    return false;
  // The kernel keeps the TSC as its clock source only while the cores'
  // counters agree; with another source, one core's reads may lag another's.
  std::ifstream in{"/sys/devices/system/clocksource/clocksource0/current_clocksource"};
  std::string source;
  return static_cast<bool>(in >> source) && source == "tsc";
}

/// The tightest of a few bracketed reads (a preempted one is wide).
sample measure() noexcept {
  sample best;
  uint64_t width = UINT64_MAX;
  for (int i = 0; i < 5; ++i) {
    _mm_lfence();
    uint64_t t1 = __rdtsc();
    _mm_lfence();
    auto ns = steady_ns();
    _mm_lfence();
    uint64_t t2 = __rdtsc();
    if (t2 >= t1 && t2 - t1 < width) {
      width = t2 - t1;
      best = {t1 + (t2 - t1) / 2, ns};
    }
  }
  return best;
}

#endif

anchor load(const state& s) noexcept {
  anchor a;
  for (;;) {
    auto q = s.seq.load(std::memory_order_acquire);
    a.tsc0 = s.tsc0.load(std::memory_order_relaxed);
    a.ns0 = s.ns0.load(std::memory_order_relaxed);
    a.mult = s.mult.load(std::memory_order_relaxed);
    a.until = s.until.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if ((q & 1) == 0 && s.seq.load(std::memory_order_relaxed) == q)
      return a;
  }
}

void store(state& s, const anchor& a) noexcept {
  auto q = s.seq.load(std::memory_order_relaxed);
  s.seq.store(q + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.tsc0.store(a.tsc0, std::memory_order_relaxed);
  s.ns0.store(a.ns0, std::memory_order_relaxed);
  s.mult.store(a.mult, std::memory_order_relaxed);
  s.until.store(a.until, std::memory_order_relaxed);
  s.seq.store(q + 2, std::memory_order_release);
}

int64_t at(uint64_t t, const anchor& a) noexcept {
  auto scaled = [&a](uint64_t ticks) {
    return static_cast<int64_t>((static_cast<unsigned __int128>(ticks) * a.mult) >> 32);
  };
  return t >= a.tsc0 ? a.ns0 + scaled(t - a.tsc0) : a.ns0 - scaled(a.tsc0 - t);
}

/// The anchor that starts at `m` where `old` is then (no jump) and meets
/// steady_clock one period later, at the rate measured since the first
/// sample.
anchor next_anchor(const state& s, const anchor& old, sample m) noexcept {
  auto elapsed = std::max<int64_t>(m.ns - s.first_ns, 1);
  auto ticks_per_ns = static_cast<double>(m.tsc - s.first_tsc) / static_cast<double>(elapsed);
  auto period = std::clamp<int64_t>(growth * elapsed, min_period_ns, max_period_ns);
  anchor a;
  a.tsc0 = m.tsc;
  a.ns0 = at(m.tsc, old);
  // Nanoseconds to cover in the next period; bounded so that the slope
  // stays positive and near the rate even after a long stall.
  auto cover = std::clamp<int64_t>(m.ns + period - a.ns0, period / 2, 2 * period);
  auto ticks = static_cast<double>(period) * ticks_per_ns;
  a.mult = static_cast<uint64_t>(static_cast<double>(cover) / ticks * 4294967296.0);
  a.until = static_cast<uint64_t>(ticks);
  return a;
}

state* make() {
  // A cache line of its own (read on every clock read by every thread):
  // the heap's next block could be written by another core.
  constexpr size_t line = 64;
  void* block = ::operator new(sizeof(state) + 2 * line, std::align_val_t{line});
  auto* s = new (static_cast<char*>(block) + line) state;
#if defined(__x86_64__)
  if (!tsc_usable())
    return s;
  auto first = measure();
  while (steady_ns() - first.ns < first_span_ns) {
  }
  auto second = measure();
  if (second.tsc <= first.tsc)
    return s;
  s->first_tsc = first.tsc;
  s->first_ns = first.ns;
  anchor a;
  a.tsc0 = second.tsc;
  a.ns0 = second.ns;
  auto ticks_per_ns = static_cast<double>(second.tsc - first.tsc)
                      / static_cast<double>(second.ns - first.ns);
  a.mult = static_cast<uint64_t>(4294967296.0 / ticks_per_ns);
  a.until = static_cast<uint64_t>(static_cast<double>(min_period_ns) * ticks_per_ns);
  store(*s, a);
  s->usable = true;
#endif
  return s;
}

} // namespace

state& global() noexcept {
  // Never destroyed: tasks may end during static destruction.
  static state* s = make();
  return *s;
}

int64_t slow_now(uint64_t t) noexcept {
#if defined(__x86_64__)
  auto& s = global();
  auto a = load(s);
  if (t < a.tsc0 || t - a.tsc0 < a.until || s.busy.exchange(true, std::memory_order_acquire))
    return at(t, a);
  store(s, next_anchor(s, a, measure()));
  s.busy.store(false, std::memory_order_release);
  return at(t, load(s));
#else
  (void)t;
  return steady_ns();
#endif
}

} // namespace manta::detail::tsc_clock
