#pragma once

// Starts a runtime for one test case and stops it however the case ends.

#include <manta/manta.hpp>

#include <utility>

struct runtime_guard {
  explicit runtime_guard(manta::init_options opts) {
    manta::init(std::move(opts));
  }
  explicit runtime_guard(double cpus) : runtime_guard(with_cpus(cpus)) {}
  ~runtime_guard() {
    manta::shutdown();
  }
  runtime_guard(const runtime_guard&) = delete;
  runtime_guard& operator=(const runtime_guard&) = delete;

  static manta::init_options with_cpus(double cpus) {
    manta::init_options opts;
    opts.num_cpus = cpus;
    return opts;
  }
};
