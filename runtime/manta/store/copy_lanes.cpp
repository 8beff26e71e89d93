#include "manta/store/copy_lanes.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <thread>

namespace manta::detail {

namespace {

/// Lanes start on page boundaries: no two threads write one page.
constexpr size_t lane_alignment = 4096;

} // namespace

copy_lanes::copy_lanes(size_t lane_bytes) noexcept
  : lane_bytes_(lane_bytes),
    helper_limit_(std::max(0, static_cast<int>(std::thread::hardware_concurrency()) - 1)) {}

int copy_lanes::take_helpers(int wanted) noexcept {
  int free = helpers_.load(std::memory_order_relaxed);
  for (;;) {
    int n = std::min(wanted, helper_limit_ - free);
    if (n <= 0)
      return 0;
    if (helpers_.compare_exchange_weak(free, free + n, std::memory_order_relaxed))
      return n;
  }
}

void copy_lanes::copy(void* dst, const void* src, size_t bytes) noexcept {
  auto* to = static_cast<char*>(dst);
  const auto* from = static_cast<const char*>(src);
  auto by_size = static_cast<int>(std::min<size_t>(max_lanes, bytes / lane_bytes_));
  int helpers = by_size > 1 ? take_helpers(by_size - 1) : 0;
  if (helpers == 0) {
    std::memcpy(to, from, bytes);
    return;
  }
  int lanes = helpers + 1;
  size_t lane = (bytes / lanes + lane_alignment - 1) / lane_alignment * lane_alignment;
  std::array<std::thread, max_lanes - 1> threads;
  size_t unstarted_from = bytes;
  for (int k = 1; k < lanes; ++k) {
    size_t begin = lane * static_cast<size_t>(k);
    size_t end = k + 1 == lanes ? bytes : std::min(bytes, begin + lane);
    try {
      threads[k - 1] = std::thread(
        [to, from, begin, end] { std::memcpy(to + begin, from + begin, end - begin); });
      started_.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception&) {
      // No thread now (a limit on threads, or no memory for its state):
      // this lane and the rest are the caller's.
      unstarted_from = begin;
      break;
    }
  }
  std::memcpy(to, from, lane); // the caller's lane, then any not started
  if (unstarted_from < bytes)
    std::memcpy(to + unstarted_from, from + unstarted_from, bytes - unstarted_from);
  for (auto& t : threads)
    if (t.joinable())
      t.join();
  helpers_.fetch_sub(helpers, std::memory_order_relaxed);
}

} // namespace manta::detail
