#pragma once

// What the simulation suites (sim_test, sim_cluster_test, ...) share: a
// simulation started for one test case, and scheduled faults.

#include <manta/manta.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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

/// Why a simulation scheduled by the file at `path` is refused at init: the
/// message of its invalid_argument_error, or "" if it started (it is
/// stopped again at once).
inline std::string schedule_refused(const std::string& path) {
  manta::simulation_options s;
  s.schedule_file = path;
  try {
    manta::init({}, s);
    manta::shutdown();
  } catch (const manta::invalid_argument_error& e) {
    return e.what();
  }
  return {};
}

/// A fault that kills virtual node `node` at virtual time `at`.
inline manta::sim_fault kill_at(std::chrono::nanoseconds at, uint32_t node) {
  manta::sim_fault f;
  f.at = at;
  f.what = manta::sim_fault::kind::kill;
  f.node = node;
  return f;
}

/// A fault that cuts nodes `group` off from all the others at virtual time
/// `at`, until a heal.
inline manta::sim_fault partition_at(std::chrono::nanoseconds at, std::vector<uint32_t> group) {
  manta::sim_fault f;
  f.at = at;
  f.what = manta::sim_fault::kind::partition;
  f.group = std::move(group);
  return f;
}

/// A fault that ends every partition at virtual time `at`.
inline manta::sim_fault heal_at(std::chrono::nanoseconds at) {
  manta::sim_fault f;
  f.at = at;
  f.what = manta::sim_fault::kind::heal;
  return f;
}

} // namespace manta_test
