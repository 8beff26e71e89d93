#include "manta/observe/series.hpp"

#include "manta/observe/series_fields.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/observe/json.hpp"
#include "manta/store/object_store.hpp"
#include "manta/store/memory_gauge.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/state.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <type_traits>

namespace manta::detail {

namespace {

std::atomic<series_recorder*> g_current{nullptr};

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Each field of a sample as a member of `out`, its key the schema's name
/// in snake_case ("CpuPercent": "cpu_percent"): a percentage with two
/// decimals, or null when unknown (negative), and a count as it is.
struct json_fields {
  boost::json::object& out;

  template <class T, class Access>
  void operator()(const T& v, const Access& a) {
    std::string key;
    for (const char* c = a.name; *c != '\0'; ++c) {
      if (*c >= 'A' && *c <= 'Z') {
        if (c != a.name)
          key += '_';
        key += static_cast<char>(*c - 'A' + 'a');
      } else {
        key += *c;
      }
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (v < 0)
        out.emplace(key, nullptr);
      else
        out.emplace(key, std::round(v * 100) / 100);
    } else {
      out.emplace(key, v);
    }
  }
};

/// The samples as a JSON array of objects.
boost::json::array samples_json(const std::vector<series_sample>& samples,
                                const boost::json::storage_ptr& sp) {
  boost::json::array out(sp);
  out.reserve(samples.size());
  for (auto& s : samples) {
    boost::json::object o(sp);
    o.reserve(14);
    fields(json_fields{o}, const_cast<series_sample&>(s));
    out.push_back(std::move(o));
  }
  return out;
}

} // namespace

series_recorder::series_recorder() {
  // The baseline the first second's rates are counted from; its CPU use is
  // unknown (no interval yet).
  ring_.push_back(take());
  ring_.back().cpu_percent = ring_.back().machine_cpu_percent = -1;
  thread_ = std::thread{[this] { loop(); }};
  g_current = this;
}

series_recorder::~series_recorder() {
  g_current = nullptr;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

series_recorder* series_recorder::current() noexcept {
  return g_current.load();
}

std::vector<series_sample> series_recorder::samples() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {ring_.begin(), ring_.end()};
}

void series_recorder::loop() {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    next += interval;
    if (wake_.wait_until(lock, next, [this] { return stop_; }))
      return;
    lock.unlock();
    auto s = take();
    lock.lock();
    ring_.push_back(s);
    if (ring_.size() > capacity)
      ring_.pop_front();
  }
}

series_sample series_recorder::take() {
  series_sample s;
  s.time_ms = unix_ms();
  auto cpu = cpu_.read();
  s.cpu_percent = std::min(cpu.process_percent, 100.0);
  s.machine_cpu_percent = std::min(cpu.machine_percent, 100.0);
  s.rss_bytes = memory_gauge::process_rss();
  // The machine's (or the container's) memory, whatever --memory-limit says.
  static const memory_gauge machine{0};
  s.machine_used_bytes = machine.used();
  s.machine_total_bytes = machine.limit();
  if (auto* rt = runtime::live()) {
    auto& store = rt->store();
    s.store_bytes = store.table().bytes_used();
    s.spilled_bytes = store.spill().bytes_on_disk();
    s.budget_bytes = store.budget().limit();
  }
  auto totals = task_events::finished_totals();
  s.finished = totals.finished_here;
  s.failed = totals.failed_here;
  s.actor_calls = totals.actor_calls_here;
  // Those in flight on this node: a driver's tasks placed on a worker are
  // the worker's to count (so the cluster's sums count each once).
  auto count = [&](const task_info& t) {
    if (!t.node.empty() && t.node != runtime::node_name())
      return;
    if (t.state == task_state::running)
      ++s.running;
    else if (t.state == task_state::pending_args || t.state == task_state::waiting_for_resources
             || t.state == task_state::queued_in_actor)
      ++s.queued;
  };
  auto tasks = task_events::count_live_here();
  s.running += tasks.running;
  s.queued += tasks.queued;
  std::vector<task_info> calls;
  for (auto& core : runtime::here().actors().live())
    core->list_calls(calls);
  for (auto& c : calls)
    count(c);
  return s;
}

std::string to_json(const std::vector<series_sample>& samples) {
  return json::serialize_in_arena(
    [&](const boost::json::storage_ptr& sp) { return samples_json(samples, sp); });
}

std::vector<series_sample> sum_series(const std::vector<std::vector<series_sample>>& per_node) {
  std::vector<int64_t> seconds;
  for (auto& node : per_node)
    for (auto& s : node)
      seconds.push_back(s.time_ms / 1000);
  std::sort(seconds.begin(), seconds.end());
  seconds.erase(std::unique(seconds.begin(), seconds.end()), seconds.end());
  std::vector<size_t> next(per_node.size(), 0);
  std::vector<series_sample> out;
  out.reserve(seconds.size());
  for (auto second : seconds) {
    series_sample sum;
    sum.time_ms = second * 1000;
    sum.cpu_percent = sum.machine_cpu_percent = -1; // unknown until a node knows it
    auto add_percent = [](double& to, double v) {
      if (v >= 0)
        to = std::max(to, 0.0) + v;
    };
    for (size_t n = 0; n < per_node.size(); ++n) {
      auto& node = per_node[n];
      while (next[n] < node.size() && node[next[n]].time_ms / 1000 <= second)
        ++next[n];
      if (next[n] == 0)
        continue; // this node had not sampled yet
      auto& s = node[next[n] - 1];
      add_percent(sum.cpu_percent, s.cpu_percent);
      add_percent(sum.machine_cpu_percent, s.machine_cpu_percent);
      sum.rss_bytes += s.rss_bytes;
      sum.machine_used_bytes += s.machine_used_bytes;
      sum.machine_total_bytes += s.machine_total_bytes;
      sum.store_bytes += s.store_bytes;
      sum.spilled_bytes += s.spilled_bytes;
      sum.budget_bytes += s.budget_bytes;
      sum.finished += s.finished;
      sum.failed += s.failed;
      sum.actor_calls += s.actor_calls;
      sum.running += s.running;
      sum.queued += s.queued;
    }
    out.push_back(sum);
  }
  return out;
}

std::string series_document(const std::vector<named_series>& nodes, int64_t since_ms) {
  auto newer = [since_ms](const std::vector<series_sample>& samples) {
    auto first = std::upper_bound(samples.begin(), samples.end(), since_ms,
                                  [](int64_t t, const series_sample& s) { return t < s.time_ms; });
    return std::vector<series_sample>(first, samples.end());
  };
  return json::serialize_in_arena([&](const boost::json::storage_ptr& sp) {
    boost::json::array named(sp);
    std::vector<std::vector<series_sample>> all;
    for (auto& n : nodes) {
      named.push_back(boost::json::object(
        {{"name", json::text(n.name, sp)}, {"samples", samples_json(newer(n.samples), sp)}}, sp));
      all.push_back(n.samples);
    }
    return boost::json::object(
      {{"nodes", std::move(named)}, {"cluster", samples_json(newer(sum_series(all)), sp)}}, sp);
  });
}

} // namespace manta::detail
