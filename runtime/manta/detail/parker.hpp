#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace manta::detail {

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
