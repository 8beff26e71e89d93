#include "manta/dashboard/dashboard_detail.hpp"

#include "manta/observe/json.hpp"
#include "manta/core/runtime.hpp"
#include "manta/state.hpp"
#include "manta/why.hpp"

#include <optional>
#include <string_view>
#include <unordered_map>

namespace manta::actors {

namespace {

/// Links of a failure chain shown at most (a chain is as long as the
/// dependent tasks that failed of one another).
constexpr size_t max_chain = 16;

http_reply error_reply(int status, const std::string& what) {
  return {status, "application/json", detail::json::error_body(what)};
}

} // namespace

http_reply task_detail(const std::multimap<std::string, std::string>& q) {
  auto i = q.find("id");
  auto id = i == q.end() ? std::nullopt : parse_object_id(i->second);
  if (!id)
    return error_reply(400, "give ?id=<16 hex digits> (a task's id: its result's id)");
  auto node = detail::runtime::node_name();
  // One listing, indexed: the chain's links are looked up in it.
  auto tasks = list_tasks();
  std::unordered_map<uint64_t, const task_info*> by_id;
  for (auto& t : tasks) {
    auto& slot = by_id[t.id.value()];
    // The record of the run (it has a thread) over an owner's record of a
    // task it placed elsewhere.
    if (slot == nullptr || (slot->thread.empty() && !t.thread.empty()))
      slot = &t;
  }
  auto found = by_id.find(id->value());
  if (found == by_id.end())
    return error_reply(404, "no task " + to_string(*id) + " on " + node
                              + " (`manta list tasks` lists the tasks it keeps)");
  const task_info& task = *found->second;
  // What the head weighs first when several members know the task
  // (head_dashboard.cpp): whether it ran here and how long its chain is.
  boost::json::array chain;
  size_t links = 0; // known links (an unknown last one is not counted)
  auto link = task.caused_by;
  for (; link.valid() && links < max_chain; ++links) {
    auto next = by_id.find(link.value());
    if (next == by_id.end()) { // made elsewhere, or out of the history
      chain.push_back({{"id", to_string(link)}, {"unknown", true}});
      break;
    }
    chain.push_back(boost::json::value_from(*next->second));
    link = next->second->caused_by;
  }
  boost::json::object out;
  out["ran_here"] = !task.thread.empty();
  out["chain_length"] = links;
  out["node"] = detail::json::text(node);
  out["task"] = boost::json::value_from(task);
  out["chain"] = std::move(chain);
  out["why"] = detail::json::text(why(*id));
  return {200, "application/json", boost::json::serialize(out)};
}

void forward_state_request(const std::string& target, detail::node_state& s) {
  auto path = std::string_view{target}.substr(0, target.find('?'));
  auto reply = error_reply(404, "not forwarded");
  if (path == "/api/log_lines" || path == "/api/task" || path == "/api/placement_groups")
    reply = route(target, "");
  s.forwarded = std::move(reply.body);
  s.forwarded_status = static_cast<uint16_t>(reply.status);
}

} // namespace manta::actors
