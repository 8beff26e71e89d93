#pragma once

// An async actor whose calls only wait: shared by the tests that show such
// calls overlap on one event loop thread (timeline_test's rows,
// cluster_actor_test on a worker node).

#include <manta/manta.hpp>

#include <chrono>

/// Its calls suspend while they sleep, so they share the event loop's
/// thread with each other.
class napper {
public:
  manta::async<int> nap(int ms) {
    co_await manta::sleep_for(std::chrono::milliseconds{ms});
    co_return ms;
  }
};
MANTA_ACTOR(napper, &napper::nap);
