#pragma once

// A task that takes time: 10 ms of manta::sleep, virtual time in a
// simulation. Shared by the simulation suites (sim_test, sim_async_test).

#include <manta/manta.hpp>

#include <chrono>

inline long slow_square(long x) {
  manta::sleep(std::chrono::milliseconds{10});
  return x * x;
}
MANTA_REMOTE(slow_square);
