#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace manta::detail {

/// Copies of large buffers split over several threads. One thread's
/// `memcpy` stops short of what the memory of a many-core machine moves,
/// and a large `put` is mostly that copy: Ray's own `put` copies large
/// buffers with 6 threads. Here the calling thread copies one lane and
/// short-lived helper threads the others, joined before `copy` returns, so
/// the copy is done when the call is (no lifetime to track). A put of
/// 1 GiB into a kept buffer in two lanes went at 1.66-2.02x the rate of
/// one `memcpy` on a quiet 2-core machine (docs/performance.md).
///
/// Bounded: the helpers of all copies in flight in one store together
/// stay under the machine's online cores (a copy that finds none free
/// copies alone), and a buffer is split only into lanes of at least
/// `default_lane_bytes`. Part of an `object_store`.
class copy_lanes {
public:
  /// Each lane copies at least this many bytes. Far more than starting a
  /// thread needs (20-60 us against 25-50 ms of copying), because smaller
  /// lanes measured slower than one `memcpy` here: glibc's `memcpy` writes
  /// past the cache (non-temporal stores) only from 99 MiB up on this
  /// project's machines, and a lane below that reads its destination first
  /// (256 MiB in two lanes of 128 MiB: 0.85-0.99x the rate of one
  /// `memcpy`, 5 pairs on a loaded machine).
  static constexpr size_t default_lane_bytes = size_t{256} << 20;

  /// The smallest copy the store splits (into two default lanes).
  static constexpr size_t split_bytes = 2 * default_lane_bytes;

  /// At most this many threads copy one buffer, the caller included.
  static constexpr int max_lanes = 4;

  /// Lanes of at least `lane_bytes` (smaller ones in tests).
  explicit copy_lanes(size_t lane_bytes = default_lane_bytes) noexcept;

  copy_lanes(const copy_lanes&) = delete;
  copy_lanes& operator=(const copy_lanes&) = delete;

  /// Copies `bytes` bytes from `src` to `dst` (which do not overlap), in
  /// as many lanes as the size and the free helpers allow. A helper that
  /// cannot be started leaves its lane to the caller.
  void copy(void* dst, const void* src, size_t bytes) noexcept;

  /// Helper threads started so far (tests and benchmarks read it).
  uint64_t helpers_started() const noexcept { return started_.load(std::memory_order_relaxed); }

private:
  /// Takes up to `wanted` helpers from the free ones; returns how many.
  int take_helpers(int wanted) noexcept;

  size_t lane_bytes_;
  int helper_limit_;
  std::atomic<int> helpers_{0};
  std::atomic<uint64_t> started_{0};
};

} // namespace manta::detail
