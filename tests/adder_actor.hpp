#pragma once

// The smallest actor with state: it sums what its calls give it. Shared by
// the tests that need some actor calls to observe (timeline_test's slices,
// series_test's samples) and by sim_app's mixed program, so that each of
// them does not write its own.

#include <manta/manta.hpp>

/// Sums the values of its `add` calls; each call returns the sum so far.
class adder {
public:
  int add(int x) { return sum_ += x; }

private:
  int sum_ = 0;
};
MANTA_ACTOR(adder, &adder::add);
