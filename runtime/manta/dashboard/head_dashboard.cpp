#include "manta/dashboard/head_dashboard.hpp"

#include "manta/dashboard/head_metrics.hpp"

#include "manta/observe/json.hpp"
#include "manta/observe/timeline_events.hpp"
#include "manta/state.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <unistd.h>

namespace manta::actors {

namespace {

using detail::state_query;
using query_map = std::multimap<std::string, std::string>;

namespace bj = boost::json;

const char* const json_type = "application/json";

http_reply refused(int status, std::string_view why) {
  return {status, json_type, detail::json::error_body(why)};
}

/// A member's JSON text (a record, a forwarded answer) as a value: the
/// head joins what the members wrote; one that does not parse is left out
/// (null) rather than breaking the whole answer.
bj::value parsed(std::string_view text, const bj::storage_ptr& sp = {}) {
  bj::error_code ec;
  auto v = bj::parse(text, ec, sp);
  return ec ? bj::value(nullptr, sp) : v;
}

/// Every member as a row of /api/nodes, the head first.
std::vector<node_info> nodes_of(const std::vector<member_state>& members) {
  std::vector<node_info> out;
  node_info head;
  head.name = "head (pid " + std::to_string(::getpid()) + ")";
  head.role = "head";
  out.push_back(std::move(head));
  for (auto& m : members) {
    node_info n;
    n.state = m.state;
    if (m.state == "ALIVE") {
      n.name = m.answer.name;
      n.role = m.answer.role;
      n.total = m.answer.total;
      n.available = m.answer.available;
      n.queued_tasks = m.answer.queued_tasks;
      n.executor_threads = m.answer.executor_threads;
    } else {
      // What the node declared when it joined: enough to recognise it.
      n.name = "node-" + std::to_string(m.record.index) + " (pid " + std::to_string(m.record.pid)
               + ")";
      n.role = m.record.driver ? "driver" : "worker";
      n.total = m.record.custom;
      n.total[cpu_resource] = m.record.cpus;
    }
    out.push_back(std::move(n));
  }
  return out;
}

/// The JSON array of the members' records of one section, at most `limit`.
template <class Records>
std::string merged(const std::vector<member_state>& members, size_t limit, Records&& of) {
  std::string out = "[";
  size_t n = 0;
  for (auto& m : members) {
    for (auto& record : of(m.answer)) {
      if (n++ >= limit)
        return out + "]";
      if (n > 1)
        out += ",\n";
      out += record;
    }
  }
  return out + "]";
}

/// /api/nodes: the rows (head first) that match `f`.
std::string nodes_json(const std::vector<member_state>& members, const list_filter& f) {
  std::vector<node_info> keep;
  for (auto& n : nodes_of(members))
    if (keep.size() < f.limit && f.matches(n))
      keep.push_back(std::move(n));
  return detail::json::to_json(keep);
}

std::string status_json(const std::vector<member_state>& members, const std::string& head_address) {
  std::array<uint64_t, 7> counts{};
  uint64_t actors = 0, objects = 0, in_memory = 0, spilled = 0, budget = 0;
  for (auto& m : members) {
    auto& a = m.answer;
    for (size_t i = 0; i < counts.size(); ++i)
      counts[i] += a.task_counts[i];
    actors += a.actors;
    objects += a.objects;
    in_memory += a.bytes_in_memory;
    spilled += a.bytes_spilled;
    budget += a.budget_bytes;
  }
  bj::object out;
  out["node"] = detail::json::text("cluster at " + head_address);
  out["cluster"] = true;
  out["nodes"] = bj::value_from(nodes_of(members));
  auto& tasks = out["tasks"].emplace_object();
  for (size_t i = 0; i < counts.size(); ++i)
    tasks[to_string(static_cast<task_state>(i))] = counts[i];
  out["actors"] = actors;
  out["objects"] = objects;
  out["bytes_in_memory"] = in_memory;
  out["bytes_spilled"] = spilled;
  out["budget_bytes"] = budget;
  return bj::serialize(out);
}

std::string memory_json(const std::vector<member_state>& members) {
  uint64_t objects = 0, in_memory = 0, spilled = 0, budget = 0;
  std::string text;
  for (auto& m : members) {
    if (m.state != "ALIVE")
      continue;
    auto& a = m.answer;
    objects += a.objects;
    in_memory += a.bytes_in_memory;
    spilled += a.bytes_spilled;
    budget += a.budget_bytes;
    text += "== " + a.name + " (" + a.role + ") ==\n" + a.memory_text + "\n";
  }
  return detail::json::serialize_in_arena([&](const bj::storage_ptr& sp) {
    bj::object out(sp);
    auto& records = out["objects"].emplace_array();
    for (auto& m : members)
      for (auto& record : m.answer.object_records)
        records.push_back(parsed(record, sp));
    out["num_objects"] = objects;
    out["bytes_in_memory"] = in_memory;
    out["bytes_spilled"] = spilled;
    out["budget_bytes"] = budget;
    out["text"] = detail::json::text(text, sp);
    return out;
  });
}

/// One trace with every node's events (each a Boost.JSON value the node
/// serialized, passed through as the records are): each node is its own
/// process (its pid), named after the node.
std::string timeline_json(const std::vector<member_state>& members) {
  std::string events;
  for (auto& m : members) {
    if (m.answer.timeline_events.empty())
      continue;
    if (!events.empty())
      events += ',';
    events += m.answer.timeline_events;
  }
  return detail::trace_document(events);
}

/// The members that did not answer (NOT_RESPONDING, DEAD), as a JSON array
/// of {"node","state","error"}: a follower of every member's log lines
/// (`manta logs --follow` at the head) says whose lines it no longer sees.
bj::array silent_members(const std::vector<member_state>& members) {
  bj::array out;
  for (auto& m : members) {
    if (m.state == "ALIVE")
      continue;
    auto name = "node-" + std::to_string(m.record.index) + " (pid " + std::to_string(m.record.pid)
                + ")";
    out.push_back(bj::object{{"node", detail::json::text(name)},
                             {"state", detail::json::text(m.state)},
                             {"error", detail::json::text(m.error)}});
  }
  return out;
}

/// /api/log_lines and /api/task, which every member answers for itself
/// (dashboard_detail.hpp, forward_state_request): log lines are every
/// member's answer that found some, as `{"cluster":true,"answers":[...]}`;
/// a task is the answer of the member where it ran, else of the one whose
/// failure chain is longest (the owner of a task that failed of its
/// argument), else the first (log lines also list the members that did not
/// answer, `silent_members`); placement groups are every member's groups
/// in one array (each driver keeps its own). With no member that knows it,
/// the first 404.
http_reply forwarded(std::string_view path, std::string_view target,
                     const state_collector& collect) {
  state_query query;
  query.forward = std::string{target};
  auto state = collect(query);
  if (!state)
    return refused(503, "the cluster registry did not answer");
  std::vector<const detail::node_state*> found;
  const detail::node_state* refusal = nullptr;
  for (auto& m : *state) {
    if (m.state != "ALIVE" || m.answer.forwarded_status == 0)
      continue;
    if (m.answer.forwarded_status == 200)
      found.push_back(&m.answer);
    else if (refusal == nullptr || m.answer.forwarded_status != 404)
      refusal = &m.answer; // a 400 (bad request) says more than "not here"
  }
  if (found.empty()) {
    if (refusal == nullptr)
      return refused(404, "no member of the cluster answered");
    return {refusal->forwarded_status, json_type, refusal->forwarded};
  }
  if (path == "/api/placement_groups") {
    // Each driver keeps the groups it created: every member's list (a
    // JSON array its own dashboard wrote), as one.
    bj::array groups;
    for (auto* f : found)
      if (auto body = parsed(f->forwarded); body.is_array())
        for (auto& g : body.get_array())
          groups.push_back(std::move(g));
    return {200, json_type, bj::serialize(groups)};
  }
  if (path == "/api/log_lines") {
    bj::array answers;
    for (auto* f : found)
      answers.push_back(parsed(f->forwarded));
    return {200, json_type,
            bj::serialize(bj::object{{"cluster", true},
                                     {"answers", std::move(answers)},
                                     {"silent", silent_members(*state)}})};
  }
  // The answer has "ran_here" and "chain_length" (task_detail).
  auto weight = [](const std::string& body) {
    auto v = parsed(body);
    auto* o = v.if_object();
    auto* ran = o ? o->if_contains("ran_here") : nullptr;
    auto* links = o ? o->if_contains("chain_length") : nullptr;
    return std::pair{ran != nullptr && ran->is_bool() && ran->get_bool(),
                     links != nullptr && links->is_int64() ? links->get_int64() : int64_t{0}};
  };
  auto best = std::max_element(found.begin(), found.end(), [&](auto* a, auto* b) {
    return weight(a->forwarded) < weight(b->forwarded);
  });
  return {200, json_type, (*best)->forwarded};
}

http_reply dispatch(std::string_view path, std::string_view target, const query_map& q,
                    const std::string& asset_dir, const std::string& head_address,
                    const state_collector& collect, const jobs_reader& read_jobs) {
  state_query query;
  if (path == "/api/jobs") {
    auto jobs = read_jobs();
    if (jobs.empty())
      return refused(503, "the cluster registry did not answer");
    return {200, json_type, std::move(jobs)};
  }
  if (path == "/metrics" || path == "/api/prometheus_sd") {
    // Only the summary besides the metrics: each member's dashboard address
    // comes with every answer.
    query.sections = path == "/metrics" ? uint32_t{state_query::metrics} : 0;
    auto state = collect(query);
    if (!state)
      return {503, "text/plain", "the cluster registry did not answer\n"};
    if (path == "/metrics")
      return {200, "text/plain; version=0.0.4", cluster_metrics(*state)};
    return {200, json_type, prometheus_sd(*state)};
  }
  if (path.rfind("/api/", 0) != 0)
    return asset(path, asset_dir);
  auto since = path == "/api/series" ? since_of(q) : 0;
  auto filter = filter_of(q);
  auto limit = filter.limit;
  if (path == "/api/tasks")
    query.sections = state_query::tasks;
  else if (path == "/api/actors")
    query.sections = state_query::actors;
  else if (path == "/api/objects")
    query.sections = state_query::objects;
  else if (path == "/api/memory")
    query.sections = state_query::objects | state_query::memory_text;
  else if (path == "/api/timeline")
    query.sections = state_query::timeline;
  else if (path == "/api/series")
    query.sections = state_query::series;
  else if (path == "/api/log_lines" || path == "/api/task" || path == "/api/placement_groups")
    return forwarded(path, target, collect);
  else if (path == "/api/why" || path == "/api/logs")
    return refused(404, "the head keeps no tasks: ask the dashboard of the node that owns "
                        "the object (start it with --dashboard-port) for why and logs");
  else if (path != "/api/nodes" && path != "/api/status")
    return refused(404, "no such endpoint");
  if (path != "/api/nodes" && path != "/api/series") // `since` cuts the answer here
    query.filter = filter;
  query.newest = static_cast<uint32_t>(newest_of(q));
  auto state = collect(query);
  if (!state)
    return refused(503, "the cluster registry did not answer");
  auto& members = *state;
  auto records = [&](auto member) { return merged(members, limit, member); };
  if (path == "/api/nodes")
    return {200, json_type, nodes_json(members, filter)};
  if (path == "/api/status")
    return {200, json_type, status_json(members, head_address)};
  if (path == "/api/tasks")
    return {200, json_type, records([](const detail::node_state& s) -> auto& { return s.tasks; })};
  if (path == "/api/actors")
    return {200, json_type,
            records([](const detail::node_state& s) -> auto& { return s.actor_records; })};
  if (path == "/api/objects")
    return {200, json_type,
            records([](const detail::node_state& s) -> auto& { return s.object_records; })};
  if (path == "/api/memory")
    return {200, json_type, memory_json(members)};
  if (path == "/api/series") {
    std::vector<detail::named_series> nodes;
    for (auto& m : members)
      if (m.state == "ALIVE")
        nodes.push_back({m.answer.name, m.answer.series});
    return {200, json_type, detail::series_document(nodes, since)};
  }
  return {200, json_type, timeline_json(members)};
}

} // namespace

http_reply head_route(std::string_view target, const std::string& asset_dir,
                      const std::string& head_address, const state_collector& collect,
                      const jobs_reader& read_jobs) {
  auto qm = target.find('?');
  auto path = target.substr(0, qm);
  auto query = qm == std::string_view::npos ? std::string_view{} : target.substr(qm + 1);
  try {
    return dispatch(path, target, parse_query(query), asset_dir, head_address, collect, read_jobs);
  } catch (const std::exception& e) {
    return refused(400, e.what());
  }
}

} // namespace manta::actors
