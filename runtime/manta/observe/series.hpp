#pragma once

#include "manta/observe/cpu_meter.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

/// The node's recent history for the dashboard's graphs (/api/series;
/// docs/observability.md, "Graphs"): one sample a second of the node's CPU,
/// memory, object store and task counts, the last ten minutes kept, so a
/// page opened now shows the minutes before it.
namespace manta::detail {

/// One reading of the node. Counts of ended tasks are cumulative since
/// `init` (the page turns them into rates); the rest are levels.
struct series_sample {
  /// Milliseconds since the Unix epoch.
  int64_t time_ms = 0;
  /// This process's and the machine's CPU use since the previous sample,
  /// in percent of all the machine's CPUs (cpu_meter.hpp); -1 (JSON null)
  /// in the first sample, which has no previous one.
  double cpu_percent = 0;
  double machine_cpu_percent = 0;
  /// This process's resident set; the machine's (or container's) memory in
  /// use and its size (memory_gauge.hpp).
  uint64_t rss_bytes = 0;
  uint64_t machine_used_bytes = 0;
  uint64_t machine_total_bytes = 0;
  /// The object store: bytes of values in memory, bytes of spill files on
  /// disk, and the memory budget.
  uint64_t store_bytes = 0;
  uint64_t spilled_bytes = 0;
  uint64_t budget_bytes = 0;
  /// Tasks and actor calls that ran on this node and ended since init:
  /// finished (actor calls included), failed, and of all ended ones the
  /// actor calls. A task a driver placed on a worker counts on the worker.
  uint64_t finished = 0;
  uint64_t failed = 0;
  uint64_t actor_calls = 0;
  /// On this node now: running, and waiting (for arguments, resources or
  /// their actor).
  uint64_t running = 0;
  uint64_t queued = 0;
};

/// Samples the node on a thread of its own every `interval` into a ring of
/// `capacity` samples. A sample reads counters and the tasks in flight (no
/// walk over objects or finished tasks), so it costs the same after a
/// million tasks.
class series_recorder {
public:
  static constexpr size_t capacity = 600;
  static constexpr std::chrono::milliseconds interval{1000};

  /// Takes the first sample (the baseline of the first second's rates; its
  /// CPU use unknown, -1) and starts the thread.
  series_recorder();
  /// Stops the thread.
  ~series_recorder();

  series_recorder(const series_recorder&) = delete;
  series_recorder& operator=(const series_recorder&) = delete;

  /// The samples kept, oldest first.
  std::vector<series_sample> samples() const;

  /// The process's recorder (null outside a runtime).
  static series_recorder* current() noexcept;

private:
  void loop();
  series_sample take();

  cpu_meter cpu_;
  mutable std::mutex mtx_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::deque<series_sample> ring_;
  std::thread thread_;
};

/// `samples` as a JSON array of objects with the fields of series_sample.
std::string to_json(const std::vector<series_sample>& samples);

/// One sample per second over every node's samples (`per_node`, each oldest
/// first): at each second any node sampled, the sum of every node's latest
/// sample up to then (CPU and memory levels summed like the rest). What the
/// head graphs for the cluster.
std::vector<series_sample> sum_series(const std::vector<std::vector<series_sample>>& per_node);

/// One node's samples, named as its records name it.
struct named_series {
  std::string name;
  std::vector<series_sample> samples;
};

/// What /api/series answers, on a node and on the head alike:
/// {"nodes":[{"name":N,"samples":[...]}...],"cluster":[...]}, the cluster's
/// samples being `sum_series` of the nodes'. With `since_ms` > 0
/// (`?since=T`), only the samples newer than T, in each node's list and in
/// the cluster's (summed over every sample, so a node's latest sample
/// before T is still carried forward): the page asks for what it has not
/// drawn yet instead of every ring each second.
std::string series_document(const std::vector<named_series>& nodes, int64_t since_ms = 0);

} // namespace manta::detail
