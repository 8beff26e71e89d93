#pragma once

#include "manta/metrics.hpp"

#include <string>
#include <string_view>

namespace manta::detail {

/// Writes Prometheus' text exposition format: each family's HELP and TYPE
/// once, then its samples. Label values are escaped as the format demands.
class prometheus_writer {
public:
  /// Starts a family; `type` is "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);

  void sample(std::string_view name, const metrics::tags& labels, double value);

  /// One histogram series: cumulative bucket counts for `bounds`, then +Inf,
  /// _sum and _count.
  void histogram(std::string_view name, const metrics::tags& labels,
                 const std::vector<double>& bounds, const std::vector<uint64_t>& cumulative,
                 uint64_t count, double sum);

  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

/// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool valid_metric_name(std::string_view name) noexcept;

/// Appends the runtime's own metrics (manta_*), this node's only: a
/// cluster's are gathered by its head (head_metrics.hpp).
void write_runtime_metrics(prometheus_writer& w);

/// Appends the process metrics of Prometheus' client libraries (process_*:
/// CPU seconds, resident and virtual memory, threads, open and maximum
/// descriptors, start time), read from /proc/self. With or without a runtime.
void write_process_metrics(prometheus_writer& w);

} // namespace manta::detail
