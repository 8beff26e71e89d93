#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace manta::detail {

/// Copies of large buffers split over several threads. One thread's
/// `memcpy` stops well short of what the memory of a many-core machine
/// moves, and a large `put` is mostly that copy: Ray's own `put` copies
/// every buffer over 1 MiB with 6 threads, and was 1.5x faster than a
/// one-thread copy for 1 GiB on this project's 2-core virtual machines
/// (docs/performance.md). Here the calling thread copies one lane and
/// short-lived helper threads the others, joined before `copy` returns, so
/// the copy is done when the call is (no lifetime to track).
///
/// Bounded: the helpers of all copies in flight in one store together
/// stay under the machine's online cores (a copy that finds none free
/// copies alone), and a buffer is split only into lanes of at least
/// `lane_bytes`, where starting a thread (tens of microseconds) is a small
/// part of the copy's milliseconds. Part of an `object_store`.
class copy_lanes {
public:
  /// Each lane copies at least this many bytes: 16 MiB, about 2-3 ms of
  /// copying here, against 20-60 us to start and join a thread.
  static constexpr size_t lane_bytes = size_t{16} << 20;

  /// At most this many threads copy one buffer, the caller included.
  static constexpr int max_lanes = 4;

  copy_lanes() noexcept;

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

  int helper_limit_;
  std::atomic<int> helpers_{0};
  std::atomic<uint64_t> started_{0};
};

} // namespace manta::detail
