#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace manta::tools {

using clock_type = std::chrono::steady_clock;

/// One metric: `body` performs `ops` operations, each counted as one call in
/// Ray's definition of the metric.
struct metric {
  std::string name;
  size_t ops;
  std::function<void()> body;
  /// Which floor the metric is compared with (nullptr: none).
  const char* floor_name;
  double floor_rate;
  /// Units per op (e.g. GB per put) for throughput metrics; 1 for call rates.
  double scale = 1.0;
  /// Runs before each timed `body`, untimed (e.g. bring a spilled object back).
  std::function<void()> setup = {};
  /// Measures the floor in this run, when it is not known up front.
  std::function<double()> floor_fn = {};
};

struct result {
  std::string name;
  double mean;
  double sd;
  const char* floor_name;
  double floor_rate;
};

/// Appends Ray's actor metrics (ray_perf.py), threaded and async actors;
/// `rr` is the raw-CAF request/response rate they are compared with.
void add_actor_metrics(std::vector<metric>& ms, double rr);

} // namespace manta::tools
