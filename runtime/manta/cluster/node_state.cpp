#include "manta/cluster/node_state.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/observe/json.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/observe/task_history.hpp"
#include "manta/observe/timeline_events.hpp"
#include "manta/observe/series_fields.hpp"
#include "manta/net/wire_reader.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/memory_summary.hpp"
#include "manta/metrics.hpp"

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
    for (auto& o : m.objects) {
      if (s.object_records.size() >= limit)
        break;
      if (!all.matches(o))
        continue;
      boost::json::object record; // the node first, then the object's fields
      record["node"] = json::text(s.name);
      auto fields_of_o = boost::json::value_from(o);
      for (auto& field : fields_of_o.as_object())
        record.emplace(field.key(), field.value());
      s.object_records.push_back(boost::json::serialize(record));
    }
  }
  if ((q.sections & state_query::timeline) != 0)
    s.timeline_events = timeline_events(q.newest);
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

/// StateQuery.Filter: one (key, value) of `list_filter::equals`.
template <class F>
void fields(F&& f, std::pair<std::string, std::string>& x) {
  f(x.first, MANTA_WIRE_FIELD(Key));
  f(x.second, MANTA_WIRE_FIELD(Value));
}

/// `list_filter::limit` as StateQuery.limit, where 0 means none (a limit
/// above what 32 bits hold is none too).
struct limit_access {
  template <class B>
  void write(B& b, size_t limit) const {
    b.setLimit(limit >= UINT32_MAX ? 0 : static_cast<uint32_t>(limit));
  }
  template <class R>
  void read(R& r, size_t& limit) const {
    limit = r.getLimit() == 0 ? static_cast<size_t>(-1) : r.getLimit();
  }
};

template <class F>
void fields(F&& f, state_query& x) {
  f(x.sections, MANTA_WIRE_FIELD(Sections));
  f(x.filter.equals, MANTA_WIRE_FIELD(Filter));
  f(x.filter.limit, limit_access{});
  f(x.forward, MANTA_WIRE_FIELD(Forward));
  f(x.newest, MANTA_WIRE_FIELD(Newest));
}

/// The node's fields; `task_counts` must have an entry per `task_state`
/// (read_fields refuses another count).
template <class F>
void fields(F&& f, node_state& x) {
  f(x.name, MANTA_WIRE_FIELD(Name));
  f(x.role, MANTA_WIRE_FIELD(Role));
  f(x.pid, MANTA_WIRE_FIELD(Pid));
  f(x.index, MANTA_WIRE_FIELD(Index));
  f(x.total, MANTA_WIRE_FIELD(Total));
  f(x.available, MANTA_WIRE_FIELD(Available));
  f(x.queued_tasks, MANTA_WIRE_FIELD(QueuedTasks));
  f(x.executor_threads, MANTA_WIRE_FIELD(ExecutorThreads));
  f(x.task_counts, MANTA_WIRE_FIELD(TaskCounts));
  f(x.actors, MANTA_WIRE_FIELD(Actors));
  f(x.objects, MANTA_WIRE_FIELD(Objects));
  f(x.bytes_in_memory, MANTA_WIRE_FIELD(BytesInMemory));
  f(x.bytes_spilled, MANTA_WIRE_FIELD(BytesSpilled));
  f(x.budget_bytes, MANTA_WIRE_FIELD(BudgetBytes));
  f(x.tasks, MANTA_WIRE_FIELD(Tasks));
  f(x.actor_records, MANTA_WIRE_FIELD(ActorRecords));
  f(x.object_records, MANTA_WIRE_FIELD(ObjectRecords));
  f(x.timeline_events, MANTA_WIRE_FIELD(TimelineEvents));
  f(x.memory_text, MANTA_WIRE_FIELD(MemoryText));
  f(x.metrics_text, MANTA_WIRE_FIELD(MetricsText));
  f(x.dashboard, MANTA_WIRE_FIELD(Dashboard));
  f(x.series, MANTA_WIRE_FIELD(Series));
  f(x.forwarded, MANTA_WIRE_FIELD(Forwarded));
  f(x.forwarded_status, MANTA_WIRE_FIELD(ForwardedStatus));
}

namespace {

/// Why the amounts of resource list `field` cannot be summed by the head
/// (one that is not finite), or empty. Negative ones pass: a node that
/// lent more than it has says so.
std::string check_amounts(const char* field, const resource_map& rs) {
  for (auto& [name, amount] : rs)
    if (!std::isfinite(amount))
      return std::string{field} + ": resource '" + name + "' is not a finite amount";
  return {};
}

std::string check_state(const node_state& x) {
  if (auto why = check_amounts("total", x.total); !why.empty())
    return why;
  return check_amounts("available", x.available);
}

} // namespace

bytes encode(const state_query& x) {
  return encode_fields<schema::StateQuery>(x);
}

std::string decode(std::span<const char> in, state_query& out) {
  return decode_fields<schema::StateQuery>("StateQuery", in, out);
}

bytes encode(const node_state& x) {
  return encode_fields<schema::NodeState>(x);
}

std::string decode(std::span<const char> in, node_state& out) {
  return decode_fields<schema::NodeState>("NodeState", in, out, check_state);
}

} // namespace wire

} // namespace manta::detail
