#pragma once

// A counter that says which process it lives in and whether it was
// restarted: the actor of the tests of handles passed between nodes
// (cluster_handles_test) and of calls waiting through a restart
// (cluster_restart_wait_test).

#include <manta/manta.hpp>

#include <unistd.h>

class counter {
public:
  /// Adds `by`; returns the count so far.
  int incr(int by) { return n_ += by; }
  /// The process the actor runs in.
  int pid() const { return static_cast<int>(::getpid()); }
  /// Whether this instance is a restart (manta::was_restarted).
  bool restarted() const { return manta::was_restarted(); }

private:
  int n_ = 0;
};
MANTA_ACTOR(counter, &counter::incr, &counter::pid, &counter::restarted);
