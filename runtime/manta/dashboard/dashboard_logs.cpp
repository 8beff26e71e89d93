#include "manta/dashboard/dashboard_logs.hpp"

#include "manta/observe/json.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/observe/log_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/state.hpp"
#include "manta/why.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>

namespace manta::actors {

namespace {

http_reply not_found(const std::string& what) {
  return {404, "application/json", detail::json::error_body(what)};
}

std::optional<std::string> param(const std::multimap<std::string, std::string>& q,
                                 const char* key) {
  auto i = q.find(key);
  return i == q.end() ? std::nullopt : std::optional<std::string>{i->second};
}

/// A count parameter; throws (a 400 from `route`) when it is not one.
uint64_t count_of(const std::string& key, const std::string& text) {
  char* end = nullptr;
  auto v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || text[0] == '-')
    throw std::invalid_argument(key + " is a count, not '" + text + "'");
  return v;
}

/// Whether `want` names this node: its whole name ("node-2 (pid 42)") or
/// the part before the pid ("node-2").
bool names_this_node(const std::string& want, const std::string& me) {
  return want.empty() || want == me || me.rfind(want + " (", 0) == 0;
}

/// The `cursor=NAME:SEQ` parameters of a follower of the head (one per
/// member it follows): the SEQ of the one that names this node, else 0 (a
/// member the follower has not read yet: all its lines). Throws when a
/// cursor is not NAME:SEQ.
uint64_t cursor_for(const std::multimap<std::string, std::string>& q, const std::string& me) {
  uint64_t after = 0;
  auto [from, to] = q.equal_range("cursor");
  for (auto i = from; i != to; ++i) {
    auto colon = i->second.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw std::invalid_argument("a cursor is NODE:SEQ (a node's name and the `last` of its "
                                  "previous answer), not '"
                                  + i->second + "'");
    auto seq = count_of("cursor", i->second.substr(colon + 1));
    if (names_this_node(i->second.substr(0, colon), me))
      after = seq;
  }
  return after;
}

} // namespace

http_reply log_lines(const std::multimap<std::string, std::string>& q) {
  detail::log_query query;
  auto node = detail::runtime::node_name();
  auto task = param(q, "task");
  auto actor = param(q, "actor");
  auto node_name = param(q, "node");
  if (int(task.has_value()) + int(actor.has_value()) + int(node_name.has_value()) != 1)
    return {400, "application/json",
            detail::json::error_body("give one of task=ID, actor=ID_OR_NAME or node=NAME")};
  auto& store = detail::runtime::here().task_logs();
  if (task) {
    auto id = parse_object_id(*task);
    if (!id)
      return {400, "application/json",
              detail::json::error_body("task id '" + *task + "' is not 16 hex digits")};
    // A task is known if it printed or the state API still lists it.
    list_filter f;
    f.equals.emplace_back("id", to_string(*id));
    if (!store.has(*id) && list_tasks(f).empty())
      return not_found("no task " + to_string(*id) + " on " + node
                       + " (`manta list tasks` lists the tasks it knows)");
    query.task = *id;
  } else if (actor) {
    const actor_info* found = nullptr;
    auto actors = list_actors();
    for (auto& a : actors)
      if (a.id == *actor || (!a.name.empty() && a.name == *actor))
        found = &a;
    if (found == nullptr)
      return not_found("no actor '" + *actor + "' on " + node
                       + " (`manta list actors` lists the actors it knows)");
    query.actor = std::strtoull(found->id.c_str(), nullptr, 16);
    // Calls of a named actor on another node come back named after it.
    if (!found->name.empty())
      query.actor_prefix = found->class_name + " '" + found->name + "'.";
  } else if (!names_this_node(*node_name, node)) {
    return not_found("this dashboard is " + node + ", not '" + *node_name
                     + "': ask that node's dashboard (--address; `manta list nodes` "
                       "lists the nodes)");
  }
  if (auto after = param(q, "after"))
    query.after = count_of("after", *after);
  if (q.count("cursor") != 0)
    query.after = cursor_for(q, node);
  if (auto tail = param(q, "tail"))
    query.tail = count_of("tail", *tail);
  if (auto limit = param(q, "limit"))
    query.limit = std::min<uint64_t>(count_of("limit", *limit), query.limit);
  if (auto search = param(q, "search"))
    query.contains = *search;
  uint64_t last = 0;
  auto lines = store.query(query, last);
  auto body = detail::json::serialize_in_arena([&](const boost::json::storage_ptr& sp) {
    boost::json::array out_lines(sp);
    out_lines.reserve(lines.size());
    for (auto& l : lines)
      out_lines.push_back(boost::json::object({{"seq", l.seq},
                                               {"task", to_string(l.task)},
                                               {"name", detail::json::text(l.name, sp)},
                                               {"line", detail::json::text(l.line, sp)}},
                                              sp));
    return boost::json::object({{"node", detail::json::text(node, sp)},
                                {"capturing", detail::log_capture::installed()},
                                {"last", last},
                                {"lines", std::move(out_lines)}},
                               sp);
  });
  return {200, "application/json", std::move(body)};
}

} // namespace manta::actors
