#pragma once

// What the demos share beside Manta itself: their --fast flag (the short
// run tests/demos_test.cpp makes of each), a stopwatch, and a hash that
// makes repeatable pseudo-random data.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string_view>

/// Whether the command line has --fast: the same demo on less work.
inline bool fast_mode(int argc, char** argv) {
  return std::any_of(argv + 1, argv + argc,
                     [](const char* a) { return std::string_view{a} == "--fast"; });
}

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// SplitMix64 of `i`: well-spread bits, the same on every run and node.
inline uint64_t splitmix(uint64_t i) {
  uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
