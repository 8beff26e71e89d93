// The runtime's own metrics, gathered when /metrics is scraped: nothing on
// the hot path beyond what the task events record anyway.

#include "manta/observe/prometheus.hpp"

#include "manta/core/runtime.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/memory_summary.hpp"
#include "manta/state.hpp"

#include <map>

namespace manta::detail {

namespace {

void write_tasks(prometheus_writer& w) {
  auto c = count_tasks();
  w.family("manta_tasks", "gauge",
           "Tasks and actor calls not finished yet, by state (task events on).");
  w.sample("manta_tasks", {{"state", "PENDING_ARGS"}}, static_cast<double>(c.pending_args));
  w.sample("manta_tasks", {{"state", "WAITING_FOR_RESOURCES"}},
           static_cast<double>(c.waiting_for_resources));
  w.sample("manta_tasks", {{"state", "QUEUED_IN_ACTOR"}}, static_cast<double>(c.queued_in_actor));
  w.sample("manta_tasks", {{"state", "RUNNING"}}, static_cast<double>(c.running));
  w.family("manta_tasks_ended_total", "counter",
           "Tasks and actor calls that ended since init, by how they ended.");
  w.sample("manta_tasks_ended_total", {{"state", "FINISHED"}}, static_cast<double>(c.finished));
  w.sample("manta_tasks_ended_total", {{"state", "FAILED"}}, static_cast<double>(c.failed));
  w.sample("manta_tasks_ended_total", {{"state", "CANCELLED"}}, static_cast<double>(c.cancelled));
  auto lat = task_events::latencies();
  if (lat.empty())
    return;
  w.family("manta_task_duration_seconds", "histogram",
           "Run time of tasks and actor calls, by function or Class.method.");
  for (auto& h : lat)
    w.histogram("manta_task_duration_seconds", {{"name", h.name}}, h.bounds, h.cumulative, h.count,
                h.sum);
}

void write_actors(prometheus_writer& w) {
  std::map<std::string, size_t> by_state{
    {"PENDING_CREATION", 0}, {"ALIVE", 0}, {"RESTARTING", 0}, {"DEAD", 0}};
  for (auto& a : list_actors())
    ++by_state[a.state];
  w.family("manta_actors", "gauge", "Actors by state (DEAD: the recently dead ones kept).");
  for (auto& [state, n] : by_state)
    w.sample("manta_actors", {{"state", state}}, static_cast<double>(n));
}

/// Per job (docs/cluster.md, "Jobs"): the tasks and actor calls this node
/// knows of each job (those in flight and the finished ones it keeps), by
/// state. Only jobs with tasks here are listed; none outside a cluster.
void write_jobs(prometheus_writer& w) {
  std::map<std::pair<std::string, std::string>, size_t> counts;
  for (auto& t : list_tasks())
    if (!t.job.empty())
      ++counts[{t.job, std::string{to_string(t.state)}}];
  if (counts.empty())
    return;
  w.family("manta_job_tasks", "gauge",
           "Tasks and actor calls of each job on this node (in flight and the finished ones "
           "kept), by state.");
  for (auto& [key, n] : counts)
    w.sample("manta_job_tasks", {{"job", key.first}, {"state", key.second}},
             static_cast<double>(n));
}

void write_store(prometheus_writer& w) {
  auto m = memory_summary();
  w.family("manta_object_store_objects", "gauge", "Live objects in the node's store.");
  w.sample("manta_object_store_objects", {}, static_cast<double>(m.num_objects));
  w.family("manta_object_store_bytes_used", "gauge", "Bytes of object values in memory.");
  w.sample("manta_object_store_bytes_used", {}, static_cast<double>(m.bytes_in_memory));
  w.family("manta_object_store_bytes_spilled", "gauge",
           "In-memory size of the values spilled to disk.");
  w.sample("manta_object_store_bytes_spilled", {}, static_cast<double>(m.bytes_spilled));
  w.family("manta_object_store_budget_bytes", "gauge", "The node's memory budget for objects.");
  w.sample("manta_object_store_budget_bytes", {}, static_cast<double>(m.budget_bytes));
}

/// This node's own resources only, without a node label: a driver knows
/// other nodes' totals too, but each node reports its own (its /metrics, or
/// the head's aggregate labels every sample with its node), so no series is
/// reported twice. Not `_total`: a gauge (promtool rejects the suffix).
void write_resources(prometheus_writer& w) {
  auto [available, total] = runtime::require("/metrics").pool().resources();
  w.family("manta_resources_capacity", "gauge", "Resources this node offers, by resource.");
  for (auto& [name, amount] : total)
    w.sample("manta_resources_capacity", {{"resource", name}}, amount);
  w.family("manta_resources_available", "gauge",
           "Resources of this node not leased to running tasks, by resource.");
  for (auto& [name, amount] : available)
    w.sample("manta_resources_available", {{"resource", name}}, amount);
}

} // namespace

void write_runtime_metrics(prometheus_writer& w) {
  if (runtime::current() == nullptr)
    return;
  write_tasks(w);
  write_actors(w);
  write_jobs(w);
  write_store(w);
  write_resources(w);
}

} // namespace manta::detail
