#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

namespace manta::detail {

/// Lines about peers (refusals, failures a peer can cause): a burst of
/// `burst`, then one per `period`, each saying how many were left out since
/// the last one written, so that an intruder retrying in a loop cannot fill
/// the log.
class log_limiter {
public:
  log_limiter(int burst, std::chrono::seconds period)
    : burst_(burst), tokens_(burst), period_(period) {}

  /// Whether to write a line now; `skipped` is set to the lines left out.
  bool allow(uint64_t& skipped) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    if (tokens_ < burst_ && now >= refill_) {
      tokens_ = std::min(burst_, tokens_ + 1 + static_cast<int>((now - refill_) / period_));
      refill_ = now + period_;
    }
    if (tokens_ == 0) {
      ++skipped_;
      return false;
    }
    if (tokens_-- == burst_)
      refill_ = now + period_;
    skipped = std::exchange(skipped_, 0);
    return true;
  }

  /// " (N similar lines left out)", or "" for none.
  static std::string skipped_text(uint64_t skipped) {
    return skipped == 0 ? std::string{}
                        : " (" + std::to_string(skipped) + " similar lines left out)";
  }

private:
  using clock = std::chrono::steady_clock;
  std::mutex mtx_;
  int burst_;
  int tokens_;
  clock::duration period_;
  clock::time_point refill_{};
  uint64_t skipped_ = 0;
};

} // namespace manta::detail
