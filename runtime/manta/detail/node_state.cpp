#include "manta/detail/node_state.hpp"

#include "manta/detail/actor_core.hpp"
#include "manta/detail/actor_directory.hpp"
#include "manta/detail/cluster.hpp"
#include "manta/detail/json.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/task_events.hpp"
#include "manta/detail/task_history.hpp"
#include "manta/detail/series_fields.hpp"
#include "manta/detail/wire_reader.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/memory_summary.hpp"
#include "manta/metrics.hpp"
#include "manta/timeline.hpp"

#include "schemas/state.capnp.h"

#include <cmath>
#include <unistd.h>

namespace manta::detail {

namespace {

/// Whether a record's `node` is this node's (a driver names the nodes it
/// placed work on "node-N").
bool here(const std::string& node) {
  return node.empty() || node == runtime::node_name();
}

/// Keeps the JSON of `records` this node runs, hosts or stores, at most
/// `limit` of them.
template <class Info, class Json>
std::vector<std::string> mine(const std::vector<Info>& records, size_t limit, Json&& json) {
  std::vector<std::string> out;
  for (auto& r : records) {
    if (out.size() >= limit)
      break;
    if (here(r.node))
      out.push_back(json(r));
  }
  return out;
}

/// The trace's events without `{"displayTimeUnit":...,"traceEvents":[` and `]}`.
std::string trace_events(const std::string& trace) {
  auto from = trace.find('[');
  auto to = trace.rfind(']');
  if (from == std::string::npos || to == std::string::npos || to <= from)
    return {};
  auto events = trace.substr(from + 1, to - from - 1);
  while (!events.empty() && (events.back() == '\n' || events.back() == ' '))
    events.pop_back();
  while (!events.empty() && (events.front() == '\n' || events.front() == ' '))
    events.erase(events.begin());
  return events;
}

std::string read_resources(capnp::List<schema::Resource>::Reader r, resource_map& out) {
  for (auto x : r) {
    if (!std::isfinite(x.getAmount()))
      return "resource '" + std::string{x.getName().cStr()} + "' is not a finite amount";
    out[x.getName().cStr()] = x.getAmount();
  }
  return {};
}

/// The task counts of this node without copying its history: the live
/// tasks and actor calls that run here by state, and the totals since the
/// node started of those that ended here (`finished_totals`; not
/// count_tasks(): a driver's totals also count the tasks it placed on
/// workers, which count there). Cancelled ones are counted where they were
/// cancelled (the totals keep no "here" for them).
void count_here(std::array<uint64_t, 7>& counts) {
  auto bump = [&](const task_info& t) {
    if (here(t.node) && t.state != task_state::finished && t.state != task_state::failed
        && t.state != task_state::cancelled)
      ++counts[static_cast<size_t>(t.state)];
  };
  for (auto& t : task_events::live_tasks())
    bump(t);
  std::vector<task_info> calls;
  for (auto& core : runtime::here().actors().live())
    core->list_calls(calls);
  for (auto& c : calls)
    bump(c);
  auto totals = task_events::finished_totals();
  counts[static_cast<size_t>(task_state::finished)] += totals.finished_here;
  counts[static_cast<size_t>(task_state::failed)] += totals.failed_here;
  counts[static_cast<size_t>(task_state::cancelled)] += totals.cancelled;
}

} // namespace

node_state take_node_state(const state_query& q) {
  auto& rt = runtime::require("the cluster dashboard's state query");
  node_state s;
  s.name = runtime::node_name();
  auto* link = rt.cluster_link();
  s.role = link != nullptr && link->kind() == cluster::role::worker ? "worker" : "driver";
  s.pid = static_cast<uint32_t>(::getpid());
  s.index = rt.node_index();
  std::tie(s.available, s.total) = rt.pool().resources();
  s.queued_tasks = rt.pool().num_queued();
  s.executor_threads = rt.pool().num_threads();
  count_here(s.task_counts);
  // The records only when asked for: a copy of the whole history (100,000
  // tasks: tens of ms) on every request made the head's page slow.
  std::vector<task_info> tasks;
  if ((q.sections & state_query::tasks) != 0 && q.newest != 0)
    tasks = list_newest_tasks(q.filter, q.newest);
  else if ((q.sections & state_query::tasks) != 0)
    tasks = list_tasks();
  auto actors = list_actors();
  for (auto& a : actors)
    s.actors += here(a.node) ? 1 : 0;
  auto m = memory_summary();
  s.objects = m.num_objects;
  s.bytes_in_memory = m.bytes_in_memory;
  s.bytes_spilled = m.bytes_spilled;
  s.budget_bytes = m.budget_bytes;
  auto all = q.filter;
  all.limit = static_cast<size_t>(-1);
  auto limit = q.filter.limit;
  auto keep = [&](auto& records) {
    std::erase_if(records, [&](auto& r) { return !all.matches(r); });
    return records;
  };
  using json::to_json;
  if ((q.sections & state_query::tasks) != 0 && q.newest != 0) {
    // The newest (the history is oldest first, live tasks after it).
    std::erase_if(tasks, [&](auto& t) { return !here(t.node) || !all.matches(t); });
    auto from = tasks.size() > q.newest ? tasks.size() - q.newest : 0;
    for (size_t i = from; i < tasks.size(); ++i)
      s.tasks.push_back(to_json(tasks[i]));
  } else if ((q.sections & state_query::tasks) != 0) {
    s.tasks = mine(keep(tasks), limit, [](auto& t) { return to_json(t); });
  }
  if ((q.sections & state_query::actors) != 0)
    s.actor_records = mine(keep(actors), limit, [](auto& a) { return to_json(a); });
  if ((q.sections & state_query::objects) != 0) {
    auto node = json::quote(s.name);
    for (auto& o : m.objects) {
      if (s.object_records.size() >= limit)
        break;
      if (all.matches(o)) // "{...}" -> {"node":"...",...}
        s.object_records.push_back("{\"node\":" + node + "," + to_json(o).substr(1));
    }
  }
  if ((q.sections & state_query::timeline) != 0)
    s.timeline_events = trace_events(timeline(q.newest));
  if ((q.sections & state_query::memory_text) != 0)
    s.memory_text = m.to_string();
  if ((q.sections & state_query::metrics) != 0)
    s.metrics_text = metrics::prometheus_text();
  s.dashboard = rt.dashboard_address();
  if (auto* rec = series_recorder::current(); rec && (q.sections & state_query::series) != 0)
    s.series = rec->samples();
  return s;
}

namespace wire {

bytes encode(const state_query& x) {
  return build<schema::StateQuery>([&](schema::StateQuery::Builder b) {
    b.setSections(x.sections);
    auto f = b.initFilter(static_cast<unsigned>(x.filter.equals.size()));
    for (unsigned i = 0; i < x.filter.equals.size(); ++i) {
      f[i].setKey(x.filter.equals[i].first);
      f[i].setValue(x.filter.equals[i].second);
    }
    auto limit = x.filter.limit;
    b.setLimit(limit >= UINT32_MAX ? 0 : static_cast<uint32_t>(limit));
    b.setForward(x.forward);
    b.setNewest(x.newest);
  });
}

std::string decode(std::span<const char> in, state_query& out) {
  return read_root<schema::StateQuery>(
    "StateQuery", in, [&](schema::StateQuery::Reader r) -> std::string {
      out = {};
      out.sections = r.getSections();
      for (auto f : r.getFilter())
        out.filter.equals.emplace_back(f.getKey().cStr(), f.getValue().cStr());
      if (r.getLimit() != 0)
        out.filter.limit = r.getLimit();
      out.forward = r.getForward().cStr();
      out.newest = r.getNewest();
      return {};
    });
}

bytes encode(const node_state& x) {
  return build<schema::NodeState>([&](schema::NodeState::Builder b) {
    b.setName(x.name);
    b.setRole(x.role);
    b.setPid(x.pid);
    b.setIndex(x.index);
    set_resources(b.initTotal(static_cast<unsigned>(x.total.size())), x.total);
    set_resources(b.initAvailable(static_cast<unsigned>(x.available.size())), x.available);
    b.setQueuedTasks(x.queued_tasks);
    b.setExecutorThreads(x.executor_threads);
    auto counts = b.initTaskCounts(static_cast<unsigned>(x.task_counts.size()));
    for (unsigned i = 0; i < x.task_counts.size(); ++i)
      counts.set(i, x.task_counts[i]);
    b.setActors(x.actors);
    b.setObjects(x.objects);
    b.setBytesInMemory(x.bytes_in_memory);
    b.setBytesSpilled(x.bytes_spilled);
    b.setBudgetBytes(x.budget_bytes);
    write_list(b.initTasks(static_cast<unsigned>(x.tasks.size())), x.tasks);
    write_list(b.initActorRecords(static_cast<unsigned>(x.actor_records.size())), x.actor_records);
    write_list(b.initObjectRecords(static_cast<unsigned>(x.object_records.size())),
               x.object_records);
    b.setTimelineEvents(x.timeline_events);
    b.setMemoryText(x.memory_text);
    b.setMetricsText(x.metrics_text);
    b.setDashboard(x.dashboard);
    write_list(b.initSeries(static_cast<unsigned>(x.series.size())), x.series);
    b.setForwarded(x.forwarded);
    b.setForwardedStatus(x.forwarded_status);
  });
}

std::string decode(std::span<const char> in, node_state& out) {
  return read_root<schema::NodeState>(
    "NodeState", in, [&](schema::NodeState::Reader r) -> std::string {
      out = {};
      out.name = r.getName().cStr();
      out.role = r.getRole().cStr();
      out.pid = r.getPid();
      out.index = r.getIndex();
      if (auto why = read_resources(r.getTotal(), out.total); !why.empty())
        return why;
      if (auto why = read_resources(r.getAvailable(), out.available); !why.empty())
        return why;
      out.queued_tasks = r.getQueuedTasks();
      out.executor_threads = r.getExecutorThreads();
      auto counts = r.getTaskCounts();
      if (counts.size() != out.task_counts.size())
        return "taskCounts has " + std::to_string(counts.size()) + " entries, not "
               + std::to_string(out.task_counts.size());
      for (unsigned i = 0; i < counts.size(); ++i)
        out.task_counts[i] = counts[i];
      out.actors = r.getActors();
      out.objects = r.getObjects();
      out.bytes_in_memory = r.getBytesInMemory();
      out.bytes_spilled = r.getBytesSpilled();
      out.budget_bytes = r.getBudgetBytes();
      read_list(r.getTasks(), out.tasks);
      read_list(r.getActorRecords(), out.actor_records);
      read_list(r.getObjectRecords(), out.object_records);
      out.timeline_events = r.getTimelineEvents().cStr();
      out.memory_text = r.getMemoryText().cStr();
      out.metrics_text = r.getMetricsText().cStr();
      out.dashboard = r.getDashboard().cStr();
      read_list(r.getSeries(), out.series);
      out.forwarded = r.getForwarded().cStr();
      out.forwarded_status = r.getForwardedStatus();
      return {};
    });
}

} // namespace wire

} // namespace manta::detail
