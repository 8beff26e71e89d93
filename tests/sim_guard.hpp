#pragma once

// What the simulation suites (sim_test, sim_cluster_test) share: a
// simulation started for one test case, and a scheduled node kill.

#include <manta/manta.hpp>

#include <chrono>
#include <cstdint>
#include <utility>

namespace manta_test {

/// Starts a simulation for one test case (no summary printed, no task
/// events) and stops it however the case ends. `connection_timeout` is the
/// real cluster's option, counted in virtual time.
struct sim_guard {
  explicit sim_guard(manta::simulation_options s, std::chrono::milliseconds connection_timeout =
                                                    manta::default_connection_timeout) {
    s.print_summary = false;
    manta::init_options opts;
    opts.connection_timeout = connection_timeout;
    opts.task_events = false;
    manta::init(opts, std::move(s));
  }
  ~sim_guard() { manta::shutdown(); }
};

/// A fault that kills virtual node `node` at virtual time `at`.
inline manta::sim_fault kill_at(std::chrono::nanoseconds at, uint32_t node) {
  manta::sim_fault f;
  f.at = at;
  f.what = manta::sim_fault::kind::kill;
  f.node = node;
  return f;
}

} // namespace manta_test
