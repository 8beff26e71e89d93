#include "manta/metrics.hpp"

#include "manta/observe/prometheus.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

namespace manta::metrics {

namespace detail {

/// One series: its kind, value and (for histograms) buckets. Shared by
/// every handle built with the same name and tags.
struct cell {
  std::string kind;
  std::string help;
  tags labels;
  std::atomic<double> value{0};
  std::mutex mtx; // histograms only
  std::vector<double> bounds;
  std::vector<uint64_t> counts; // per bucket, the last one +Inf
  uint64_t count = 0;
  double sum = 0;
};

} // namespace detail

namespace {

struct registry {
  std::mutex mtx;
  /// By name, then by rendered tags; ordered so the exposition is stable.
  std::map<std::string, std::map<tags, std::shared_ptr<detail::cell>>> series;
};

registry& reg() {
  static auto* r = new registry; // never destroyed: metrics may live in statics
  return *r;
}

/// Prometheus' conventions, which `promtool check metrics` enforces: a
/// counter's name ends in `_total` (added when missing, as Prometheus'
/// client libraries do, so `counter{"requests"}` is `requests_total`), and
/// no other kind's does.
std::string exposed_name(const std::string& name, const std::string& kind) {
  bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
  if (kind == "counter")
    return total ? name : name + "_total";
  if (total)
    throw invalid_argument_error(
      "metric name '" + name
      + "': only a counter's name ends in "
        "_total (Prometheus' convention); drop the suffix or use a counter");
  return name;
}

std::shared_ptr<detail::cell> find_or_add(const std::string& given, const std::string& kind,
                                          const std::string& help, const tags& t) {
  if (!manta::detail::valid_metric_name(given) || given.rfind("manta_", 0) == 0
      || given.rfind("process_", 0) == 0)
    throw invalid_argument_error("metric name '" + given
                                 + "' is invalid: use [a-zA-Z_:][a-zA-Z0-9_:]* and do not "
                                   "start it with manta_ or process_ (the runtime's own metrics)");
  auto name = exposed_name(given, kind);
  for (auto& [k, _] : t)
    if (!manta::detail::valid_metric_name(k) || k == "le")
      throw invalid_argument_error("metric '" + name + "': tag '" + k
                                   + "' is not a valid label name");
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  auto& by_tags = r.series[name];
  if (!by_tags.empty() && by_tags.begin()->second->kind != kind)
    throw invalid_argument_error("metric '" + name + "' is a " + by_tags.begin()->second->kind
                                 + ", not a " + kind);
  auto& c = by_tags[t];
  if (!c) {
    c = std::make_shared<detail::cell>();
    c->kind = kind;
    c->help = help;
    c->labels = t;
  }
  return c;
}

} // namespace

counter::counter(const std::string& name, const std::string& help, const tags& t)
  : cell_(find_or_add(name, "counter", help, t)) {}

void counter::inc(double by) {
  if (by < 0)
    throw invalid_argument_error("counter::inc: a counter only goes up (got " + std::to_string(by)
                                 + "); use a gauge");
  cell_->value.fetch_add(by, std::memory_order_relaxed);
}

double counter::value() const {
  return cell_->value.load(std::memory_order_relaxed);
}

gauge::gauge(const std::string& name, const std::string& help, const tags& t)
  : cell_(find_or_add(name, "gauge", help, t)) {}

void gauge::set(double v) {
  cell_->value.store(v, std::memory_order_relaxed);
}

void gauge::add(double by) {
  cell_->value.fetch_add(by, std::memory_order_relaxed);
}

double gauge::value() const {
  return cell_->value.load(std::memory_order_relaxed);
}

histogram::histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                     const tags& t)
  : cell_(find_or_add(name, "histogram", help, t)) {
  if (!std::is_sorted(bounds.begin(), bounds.end()) || bounds.empty())
    throw invalid_argument_error("histogram '" + name
                                 + "': give at least one bucket bound, sorted ascending");
  std::lock_guard<std::mutex> guard{cell_->mtx};
  if (cell_->bounds.empty()) {
    cell_->bounds = std::move(bounds);
    cell_->counts.assign(cell_->bounds.size() + 1, 0);
  } else if (cell_->bounds != bounds) {
    throw invalid_argument_error("histogram '" + name + "' exists with other bucket bounds");
  }
}

void histogram::observe(double v) {
  auto& c = *cell_;
  size_t b = std::lower_bound(c.bounds.begin(), c.bounds.end(), v) - c.bounds.begin();
  std::lock_guard<std::mutex> guard{c.mtx};
  ++c.counts[b];
  ++c.count;
  c.sum += v;
}

uint64_t histogram::count() const {
  std::lock_guard<std::mutex> guard{cell_->mtx};
  return cell_->count;
}

double histogram::sum() const {
  std::lock_guard<std::mutex> guard{cell_->mtx};
  return cell_->sum;
}

std::string prometheus_text() {
  manta::detail::prometheus_writer w;
  manta::detail::write_runtime_metrics(w);
  manta::detail::write_process_metrics(w);
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  for (auto& [name, by_tags] : r.series) {
    auto& first = *by_tags.begin()->second;
    w.family(name, first.kind, first.help.empty() ? name : first.help);
    for (auto& [t, c] : by_tags) {
      if (c->kind != "histogram") {
        w.sample(name, t, c->value.load(std::memory_order_relaxed));
        continue;
      }
      std::lock_guard<std::mutex> cg{c->mtx};
      std::vector<uint64_t> cumulative;
      uint64_t acc = 0;
      for (size_t i = 0; i < c->bounds.size(); ++i)
        cumulative.push_back(acc += c->counts[i]);
      w.histogram(name, t, c->bounds, cumulative, c->count, c->sum);
    }
  }
  return w.take();
}

} // namespace manta::metrics
