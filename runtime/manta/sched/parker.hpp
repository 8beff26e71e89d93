#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace manta::detail {

/// Tells the CPU that this thread spins (a pause on x86).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// One step of a bounded spin-wait, `i` counting from 0: a pause
/// instruction for the first 200 steps (about 10 us, within which most
/// hand-overs in a busy runtime complete), then a yield of the core, so that
/// on a small or oversubscribed machine the thread we wait for can run.
/// Waits spin for at most `spin_steps` steps before they sleep, and not at
/// all on an oversubscribed machine (contention.hpp).
void spin_step(int i) noexcept;
inline constexpr int spin_steps = 2000;
/// Every this many steps a spin asks `oversubscribed()` (contention.hpp)
/// again and stops if the machine filled up meanwhile.
inline constexpr int spin_check_steps = 64;

/// Blocks one thread until another thread unparks it, like Rust's thread
/// parking. A blocking `get` needs a wake-up far cheaper than a
/// `scoped_actor` round trip (30-75 us): the parker spins briefly, then
/// sleeps on a futex, and an unpark of a thread that is still spinning costs
/// a single atomic exchange.
class parker {
public:
  using clock = std::chrono::steady_clock;

  /// Wakes the parked thread, or makes its next park return at once.
  void unpark() noexcept;

  /// Waits for an unpark or the deadline. Returns true if unparked. May also
  /// return early without either (spuriously), so callers re-check their
  /// condition in a loop.
  bool park_until(clock::time_point deadline) noexcept;

  /// Waits for an unpark without a deadline.
  bool park() noexcept { return park_until(clock::time_point::max()); }

  /// The parker of the calling thread.
  static parker& this_thread() noexcept;

private:
  /// Turns `notified` into `idle` atomically; true if it did.
  bool consume() noexcept;

  enum : uint32_t { idle = 0, notified = 1, sleeping = 2 };
  std::atomic<uint32_t> word_{idle};
};

} // namespace manta::detail
