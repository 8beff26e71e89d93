#pragma once

// What the simulation suites (sim_test, sim_cluster_test, ...) share: a
// simulation started for one test case, the options of its network (exact
// or seeded), the check that a seed alone decides a run, and scheduled
// faults.

#include <doctest/doctest.h>
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

/// A simulation of `nodes` nodes of `cpus_per_node` CPUs whose messages
/// all take exactly `latency` (no jitter): the virtual times a test checks
/// follow from its own numbers.
inline manta::simulation_options
exact_latency(uint32_t nodes, std::chrono::nanoseconds latency,
              double cpus_per_node = manta::simulation_options{}.cpus_per_node) {
  manta::simulation_options s;
  s.nodes = nodes;
  s.cpus_per_node = cpus_per_node;
  s.latency = latency;
  s.jitter = std::chrono::nanoseconds{0};
  return s;
}

/// A simulation of `nodes` nodes drawn from `seed`, with the scheduled
/// `faults`: messages take 100 us plus a jitter of mean 50 us, so that
/// another seed orders them otherwise.
inline manta::simulation_options seeded(uint64_t seed, uint32_t nodes,
                                        std::vector<manta::sim_fault> faults = {}) {
  manta::simulation_options s;
  s.seed = seed;
  s.nodes = nodes;
  s.latency = std::chrono::microseconds{100};
  s.jitter = std::chrono::microseconds{50};
  s.faults = std::move(faults);
  return s;
}

/// Checks that a simulated run is the seed's alone: `run(seed)`, a pair of
/// what the run found and its trace hash, gives the same pair twice, and
/// `run(other)` another trace.
template <class Run>
void check_same_seed_same_run(Run run, uint64_t seed, uint64_t other) {
  auto one = run(seed);
  auto two = run(seed);
  auto three = run(other);
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
  CHECK(one.second != three.second);
}

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
