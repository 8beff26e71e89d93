#pragma once

// An actor with state from its constructor: it adds up from the start it is
// given. Shared by the cases that check an actor keeps its state across
// calls, on one node (init_test) and across network namespaces
// (netns_test).

#include <manta/manta.hpp>

class running_total {
public:
  explicit running_total(int start) : n_(start) {}
  /// Adds `by`; returns the sum so far.
  int add(int by) { return n_ += by; }

private:
  int n_;
};
MANTA_ACTOR(running_total, &running_total::add);
