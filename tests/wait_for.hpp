#pragma once

// Waiting for a condition with a deadline, never a fixed sleep: the poll
// the single-process suites share (data_path_attack_test,
// data_path_reuse_test).

#include <chrono>
#include <thread>

namespace manta_test {

/// Polls `pred` every 5 ms until it holds or `limit` passes; whether it held.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return true;
}

} // namespace manta_test
