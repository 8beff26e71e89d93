#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace manta::metrics {

/// Labels of one time series, e.g. {{"route", "/predict"}}.
using tags = std::map<std::string, std::string>;

namespace detail {
struct cell;
}

/// A count that only goes up (requests served, bytes read). Usable from
/// any thread, inside tasks and actors too. Metrics are process-wide and
/// found by name and tags: two `counter`s built with the same name and tags
/// add to the same series, so a task may build its counter each time it
/// runs. Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*, not starting
/// with manta_ or process_ (the runtime's); a counter's name ends in _total
/// (added when missing: "requests" is served as requests_total, and both
/// names find the same series), another kind's may not. A name already used
/// by another kind of metric throws `invalid_argument_error`.
class counter {
public:
  /// Finds or makes the series `name` with tags `t`; `help` describes it.
  explicit counter(const std::string& name, const std::string& help = "", const tags& t = {});
  /// Adds `by` (>= 0).
  void inc(double by = 1);
  /// The count so far.
  double value() const;

private:
  std::shared_ptr<detail::cell> cell_;
};

/// A value that goes up and down (queue length, temperature).
class gauge {
public:
  /// Finds or makes the series `name` with tags `t`; `help` describes it.
  explicit gauge(const std::string& name, const std::string& help = "", const tags& t = {});
  /// Sets the value.
  void set(double v);
  /// Adds `by` (may be negative).
  void add(double by);
  /// The value now.
  double value() const;

private:
  std::shared_ptr<detail::cell> cell_;
};

/// A distribution of observations (latencies, sizes) in buckets with the
/// given upper bounds (sorted ascending; +Inf is implied).
class histogram {
public:
  /// Finds or makes the series `name` with tags `t` and buckets up to `bounds`.
  histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
            const tags& t = {});
  /// Counts `v` in its bucket and in the sum.
  void observe(double v);
  /// Observations so far and their sum.
  uint64_t count() const;
  /// The sum of the observations.
  double sum() const;

private:
  std::shared_ptr<detail::cell> cell_;
};

/// Every metric in Prometheus' text exposition format (version 0.0.4): the
/// runtime's own (tasks by state, actors, object store bytes, resources,
/// per-function latency histograms; all named manta_*), the process's
/// (process_*: CPU, memory, threads, descriptors) and the user's. What the
/// dashboard serves at /metrics; passes `promtool check metrics`.
std::string prometheus_text();

} // namespace manta::metrics
