#pragma once

// Starts a runtime for one test case and stops it however the case ends, and
// the small time helpers the single-node suites share.

#include <manta/manta.hpp>

#include <chrono>
#include <utility>

struct runtime_guard {
  explicit runtime_guard(manta::init_options opts) { manta::init(std::move(opts)); }
  /// A runtime with `cpus` CPUs and the custom `resources`.
  explicit runtime_guard(double cpus = 2, manta::resource_map resources = {})
    : runtime_guard(with_cpus(cpus, std::move(resources))) {}
  /// A runtime configured by command-line flags, as `manta::init(argc, argv)`.
  runtime_guard(int argc, char** argv) { manta::init(argc, argv); }
  ~runtime_guard() { manta::shutdown(); }
  runtime_guard(const runtime_guard&) = delete;
  runtime_guard& operator=(const runtime_guard&) = delete;

  static manta::init_options with_cpus(double cpus, manta::resource_map resources = {}) {
    manta::init_options opts;
    opts.num_cpus = cpus;
    opts.resources = std::move(resources);
    return opts;
  }
};

using steady = std::chrono::steady_clock;

inline double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}
