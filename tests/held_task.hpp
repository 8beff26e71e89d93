#pragma once

// A task that holds its worker until the test releases it, for the
// single-node suites that need a worker busy while they look at something
// else (errors_test, init_test, resources_test). Each suite registers
// `hold_until_released` with its own MANTA_REMOTE.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

/// Set to let every held task return.
inline std::atomic<bool> g_release{false};
/// How many held tasks are running now.
inline std::atomic<int> g_holding{0};

/// Runs until the test sets `g_release` (bounded, so a failed test cannot
/// hang), then returns 1.
inline int hold_until_released() {
  ++g_holding;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (!g_release.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  --g_holding;
  return 1;
}

/// Waits (5 s at most) until `n` held tasks run, and requires that they do.
inline void wait_for_holding(int n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (g_holding.load() < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  REQUIRE(g_holding.load() == n);
}
