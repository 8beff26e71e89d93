/// Monitoring: producer tasks, one per service, emit a metric sample at a
/// fixed interval to an aggregator actor; the actor keeps per-service
/// statistics and raises an alert when a sample crosses a threshold. The
/// driver watches the aggregator's snapshot while the producers run, for a
/// bounded time (the Ray Core tutorial's "Real-time monitoring", in C++).
///
///   monitoring_demo [--fast] [--num-cpus=N]
///
/// The samples come from seeded generators, so a run always raises the same
/// alerts; a sequential replay of the same streams checks the count. 3
/// services x 60 samples, one every 25 ms (1.5 s); --fast: every 2.5 ms.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* const service_names[] = {"api", "db", "cache"};
constexpr int num_services = 3;

/// Thresholds of the alert rules.
constexpr double latency_limit_ms = 200;
constexpr int latency_streak = 3; // consecutive slow samples before an alert
constexpr double cpu_limit = 90;
constexpr double error_limit = 0.05;

} // namespace

/// One measurement of one service.
struct sample {
  int service = 0;
  int seq = 0;
  double latency_ms = 0;
  double cpu_percent = 0;
  double error_rate = 0;
};

/// A threshold crossed.
struct alert {
  int service = 0;
  int seq = 0;
  std::string kind;
  double value = 0;
};

/// A service's metrics: a seeded random walk with occasional incidents
/// (a few samples of high latency, CPU and errors). Deterministic for a
/// seed: the same samples in every run and on every platform.
class metric_source {
public:
  metric_source(int service, uint64_t seed) : service_(service), state_(seed) {}

  sample next() {
    sample s;
    s.service = service_;
    s.seq = seq_++;
    if (incident_left_ == 0 && uniform() < 0.06)
      incident_left_ = 2 + static_cast<int>(uniform() * 4); // 2..5 samples
    bool incident = incident_left_ > 0;
    if (incident)
      --incident_left_;
    s.latency_ms = 40 + 60 * uniform() + (incident ? 120 + 100 * uniform() : 0);
    s.cpu_percent = 35 + 30 * uniform() + (incident ? 15 + 20 * uniform() : 0);
    s.error_rate = 0.02 * uniform() + (incident ? 0.06 * uniform() : 0);
    return s;
  }

private:
  /// splitmix64 as a stream: uniform in [0, 1).
  double uniform() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }

  int service_;
  uint64_t state_;
  int seq_ = 0;
  int incident_left_ = 0;
};

/// The alert rules, with the per-service state they need; used by the
/// aggregator and by the sequential replay alike.
class alert_rules {
public:
  /// The alerts `s` raises.
  std::vector<alert> check(const sample& s) {
    std::vector<alert> out;
    int& streak = streaks_[static_cast<size_t>(s.service)];
    streak = s.latency_ms > latency_limit_ms ? streak + 1 : 0;
    if (streak == latency_streak) // once per slow stretch
      out.push_back({s.service, s.seq, "latency", s.latency_ms});
    if (s.cpu_percent > cpu_limit)
      out.push_back({s.service, s.seq, "cpu", s.cpu_percent});
    if (s.error_rate > error_limit)
      out.push_back({s.service, s.seq, "errors", s.error_rate});
    return out;
  }

private:
  std::vector<int> streaks_ = std::vector<int>(num_services, 0);
};

/// What the dashboard shows.
struct snapshot {
  long samples = 0;
  long alerts = 0;
  long out_of_order = 0;
  std::vector<double> mean_latency_ms;
  std::vector<double> max_latency_ms;
};

/// Receives every sample, keeps statistics, raises alerts.
class metrics_aggregator {
public:
  metrics_aggregator() = default;

  /// Returns the number of alerts this sample raised.
  int report(sample s) {
    auto i = static_cast<size_t>(s.service);
    out_of_order_ += s.seq != next_seq_[i];
    next_seq_[i] = s.seq + 1;
    ++count_[i];
    sum_latency_[i] += s.latency_ms;
    max_latency_[i] = std::max(max_latency_[i], s.latency_ms);
    auto raised = rules_.check(s);
    alerts_.insert(alerts_.end(), raised.begin(), raised.end());
    return static_cast<int>(raised.size());
  }

  snapshot get_snapshot() const {
    snapshot snap;
    for (size_t i = 0; i < count_.size(); ++i) {
      snap.samples += count_[i];
      snap.mean_latency_ms.push_back(count_[i] ? sum_latency_[i] / count_[i] : 0);
      snap.max_latency_ms.push_back(max_latency_[i]);
    }
    snap.alerts = static_cast<long>(alerts_.size());
    snap.out_of_order = out_of_order_;
    return snap;
  }

  std::vector<alert> alerts() const { return alerts_; }

private:
  alert_rules rules_;
  std::vector<long> count_ = std::vector<long>(num_services, 0);
  std::vector<int> next_seq_ = std::vector<int>(num_services, 0);
  std::vector<double> sum_latency_ = std::vector<double>(num_services, 0);
  std::vector<double> max_latency_ = std::vector<double>(num_services, 0);
  std::vector<alert> alerts_;
  long out_of_order_ = 0;
};
MANTA_ACTOR(metrics_aggregator, &metrics_aggregator::report, &metrics_aggregator::get_snapshot,
            &metrics_aggregator::alerts);

uint64_t seed_of(int service) {
  return 1000 + 17 * static_cast<uint64_t>(service);
}

/// A service's agent: one sample every `interval_s`, `count` of them, or
/// fewer if `max_s` runs out first. Returns how many it sent.
int produce(manta::actor_handle<metrics_aggregator> agg, int service, int count, double interval_s,
            double max_s) {
  metric_source source{service, seed_of(service)};
  auto t0 = clock_type::now();
  std::vector<manta::object_ref<int>> acks;
  int sent = 0;
  for (; sent < count && seconds_since(t0) < max_s; ++sent) {
    acks.push_back(agg.call(&metrics_aggregator::report).remote(source.next()));
    std::this_thread::sleep_for(std::chrono::duration<double>{interval_s});
  }
  manta::get(acks); // every sample delivered before the producer reports done
  return sent;
}
MANTA_REMOTE(produce);

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const int samples = 60;
  const double interval_s = fast ? 0.0025 : 0.025;
  const double planned_s = samples * interval_s;
  const double max_s = 10 * planned_s + 5; // the bound: never run longer than this
  const double poll_s = planned_s / 5;
  std::printf("%d services x %d samples, one every %.1f ms (%.2f s); alerts: latency > "
              "%.0f ms for %d samples, CPU > %.0f%%, errors > %.0f%%\n\n",
              num_services, samples, interval_s * 1e3, planned_s, latency_limit_ms, latency_streak,
              cpu_limit, error_limit * 100);

  auto agg = manta::actor<metrics_aggregator>().remote();
  auto t0 = clock_type::now();
  std::vector<manta::object_ref<int>> producers;
  for (int s = 0; s < num_services; ++s) // they mostly sleep: a quarter CPU each
    producers.push_back(
      manta::task(produce).num_cpus(0.25).remote(agg, s, samples, interval_s, max_s));

  // The dashboard: a snapshot every poll_s until the producers are done.
  std::printf("%8s  %8s  %7s  %s\n", "time", "samples", "alerts", "mean latency (api/db/cache)");
  auto pending = producers;
  while (!pending.empty()) {
    pending = manta::wait(pending, pending.size(), std::chrono::duration<double>{poll_s}).pending;
    auto snap = manta::get(agg.call(&metrics_aggregator::get_snapshot).remote());
    std::printf("%6.2f s  %8ld  %7ld  %.0f / %.0f / %.0f ms\n", seconds_since(t0), snap.samples,
                snap.alerts, snap.mean_latency_ms[0], snap.mean_latency_ms[1],
                snap.mean_latency_ms[2]);
  }
  double run_s = seconds_since(t0);
  int sent = 0;
  for (int n : manta::get(producers))
    sent += n;
  auto snap = manta::get(agg.call(&metrics_aggregator::get_snapshot).remote());
  auto alerts = manta::get(agg.call(&metrics_aggregator::alerts).remote());
  manta::shutdown();

  std::printf("\nalerts:\n");
  std::vector<int> by_kind(3, 0);
  for (auto& a : alerts) {
    std::printf("  %-6s sample %2d  %-7s %.3f\n", service_names[a.service], a.seq, a.kind.c_str(),
                a.value);
    by_kind[a.kind == "latency" ? 0 : a.kind == "cpu" ? 1 : 2]++;
  }
  for (int s = 0; s < num_services; ++s)
    std::printf("%-6s mean latency %.1f ms, max %.1f ms\n", service_names[s],
                snap.mean_latency_ms[static_cast<size_t>(s)],
                snap.max_latency_ms[static_cast<size_t>(s)]);

  // The same seeded streams through the same rules, one sample at a time.
  alert_rules replay;
  long expected = 0;
  for (int s = 0; s < num_services; ++s) {
    metric_source source{s, seed_of(s)};
    for (int i = 0; i < samples; ++i)
      expected += static_cast<long>(replay.check(source.next()).size());
  }
  std::printf("\nran for %.2f s (bound %.1f s); samples received: %ld of %d sent, %ld out of "
              "order\n",
              run_s, max_s, snap.samples, sent, snap.out_of_order);
  std::printf("alert counts: latency %d, cpu %d, errors %d\n", by_kind[0], by_kind[1], by_kind[2]);
  std::printf("alerts raised: %zu\n", alerts.size());
  std::printf("expected by a sequential replay: %ld\n", expected);
  bool ok = sent == num_services * samples && snap.samples == sent && snap.out_of_order == 0
            && static_cast<long>(alerts.size()) == expected;
  return ok ? 0 : 1;
}
