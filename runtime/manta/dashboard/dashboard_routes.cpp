#include "manta/dashboard/dashboard_routes.hpp"

#include "manta/dashboard/dashboard_assets.hpp"
#include "manta/dashboard/dashboard_detail.hpp"
#include "manta/dashboard/dashboard_logs.hpp"

#include "manta/observe/json.hpp"
#include "manta/placement/placement_json.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/series.hpp"
#include "manta/observe/task_history.hpp"
#include "manta/logs.hpp"
#include "manta/memory_summary.hpp"
#include "manta/metrics.hpp"
#include "manta/state.hpp"
#include "manta/timeline.hpp"
#include "manta/why.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace manta::actors {

namespace {

namespace bj = boost::json;

http_reply status_json() {
  auto c = count_tasks();
  auto m = memory_summary();
  bj::object out;
  out["node"] = detail::json::text(detail::runtime::node_name());
  out["nodes"] = bj::value_from(list_nodes());
  out["tasks"] = {{"PENDING_ARGS", c.pending_args},
                  {"WAITING_FOR_RESOURCES", c.waiting_for_resources},
                  {"QUEUED_IN_ACTOR", c.queued_in_actor},
                  {"RUNNING", c.running},
                  {"FINISHED", c.finished},
                  {"FAILED", c.failed},
                  {"CANCELLED", c.cancelled}};
  out["actors"] = list_actors().size();
  out["objects"] = m.num_objects;
  out["bytes_in_memory"] = m.bytes_in_memory;
  out["bytes_spilled"] = m.bytes_spilled;
  out["budget_bytes"] = m.budget_bytes;
  return {200, "application/json", bj::serialize(out)};
}

http_reply memory_json() {
  auto m = memory_summary();
  auto body = detail::json::serialize_in_arena([&](bj::storage_ptr sp) {
    bj::object out(sp);
    out["objects"] = bj::value_from(m.objects, sp);
    out["num_objects"] = m.num_objects;
    out["bytes_in_memory"] = m.bytes_in_memory;
    out["spilled_objects"] = m.spilled_objects;
    out["bytes_spilled"] = m.bytes_spilled;
    out["spill_files"] = m.spill_files;
    out["budget_bytes"] = m.budget_bytes;
    out["text"] = detail::json::text(m.to_string(), sp);
    return out;
  });
  return {200, "application/json", std::move(body)};
}

http_reply refusal(int status, std::string_view why) {
  return {status, "application/json", detail::json::error_body(why)};
}

http_reply dispatch(std::string_view path, const std::multimap<std::string, std::string>& q,
                    const std::string& asset_dir) {
  using detail::json::to_json;
  if (path == "/metrics")
    return {200, "text/plain; version=0.0.4", metrics::prometheus_text()};
  if (path.rfind("/api/", 0) != 0)
    return asset(path, asset_dir);
  if (detail::runtime::current() == nullptr)
    return refusal(503, "the runtime is shutting down");
  if (path == "/api/nodes")
    return {200, "application/json", to_json(list_nodes(filter_of(q)))};
  if (path == "/api/tasks") {
    auto newest = newest_of(q);
    auto f = filter_of(q);
    if (newest == 0)
      return {200, "application/json", to_json(list_tasks(f))};
    return {200, "application/json", to_json(detail::list_newest_tasks(f, newest))};
  }
  if (path == "/api/actors")
    return {200, "application/json", to_json(list_actors(filter_of(q)))};
  if (path == "/api/objects")
    return {200, "application/json", to_json(list_objects(filter_of(q)))};
  if (path == "/api/placement_groups")
    return {200, "application/json", detail::json::to_json(list_placement_groups(filter_of(q)))};
  if (path == "/api/jobs")
    return refusal(404, "jobs are kept by the head: open the head's dashboard (manta start "
                        "--head --dashboard-port=...) for the job table");
  if (path == "/api/status")
    return status_json();
  if (path == "/api/memory")
    return memory_json();
  if (path == "/api/timeline")
    return {200, "application/json", timeline(newest_of(q))};
  if (path == "/api/series") {
    auto* rec = detail::series_recorder::current();
    std::vector<detail::named_series> nodes;
    if (rec != nullptr)
      nodes.push_back({detail::runtime::node_name(), rec->samples()});
    return {200, "application/json", detail::series_document(nodes, since_of(q))};
  }
  if (path == "/api/logs") {
    auto i = q.find("id");
    auto id = i == q.end() ? std::nullopt : parse_object_id(i->second);
    if (!id)
      return refusal(400, "give ?id=<16 hex digits>");
    bj::array lines;
    for (auto& line : task_logs(*id))
      lines.push_back(detail::json::text(line));
    return {200, "application/json", bj::serialize(lines)};
  }
  if (path == "/api/log_lines")
    return log_lines(q);
  if (path == "/api/task")
    return task_detail(q);
  if (path == "/api/why") {
    auto i = q.find("id");
    auto id = i == q.end() ? std::nullopt : parse_object_id(i->second);
    if (!id)
      return refusal(400, "give ?id=<16 hex digits>");
    return {200, "application/json",
            bj::serialize(bj::object{{"text", detail::json::text(why(*id))}})};
  }
  return refusal(404, "no such endpoint");
}

} // namespace

namespace {

/// The parameter `key` of `q` as a whole number from 0 to `most`, 0 if it
/// is absent; `what` says what it must be when it is not one.
uint64_t whole_number(const std::multimap<std::string, std::string>& q, const char* key,
                      uint64_t most, const std::string& what) {
  auto i = q.find(key);
  if (i == q.end())
    return 0;
  char* end = nullptr;
  auto n = std::strtoull(i->second.c_str(), &end, 10);
  if (i->second.empty() || *end != '\0' || i->second[0] == '-' || n > most)
    throw std::invalid_argument(std::string{key} + " is " + what + ", not '" + i->second + "'");
  return n;
}

} // namespace

size_t newest_of(const std::multimap<std::string, std::string>& q) {
  return static_cast<size_t>(whole_number(q, "newest", UINT32_MAX, "a count of records"));
}

int64_t since_of(const std::multimap<std::string, std::string>& q) {
  return static_cast<int64_t>(whole_number(
    q, "since", INT64_MAX, "a time in milliseconds since the Unix epoch (a sample's time_ms)"));
}

list_filter filter_of(const std::multimap<std::string, std::string>& q) {
  list_filter f;
  for (auto& [k, v] : q) {
    if (k == "newest")
      continue; // newest_of
    if (k == "limit")
      f.limit = static_cast<size_t>(std::stoull(v));
    else
      f.equals.emplace_back(k, v);
  }
  return f;
}

http_reply asset(std::string_view path, const std::string& dir) {
  if (path == "/")
    path = "/index.html";
  // Only plain names inside the asset folder: no "..", no subfolders.
  auto name = path.substr(1);
  if (name.empty() || name.find('/') != std::string_view::npos
      || name.find("..") != std::string_view::npos)
    return {404, "text/plain", "not found\n"};
  std::string body;
  // Chart.js comes from its Debian package, not tools/dashboard/: always
  // the compiled-in copy, also under MANTA_DASHBOARD_DIR.
  if (dir.empty() || name == "chart.min.js") {
    auto files = dashboard_files();
    auto f = std::find_if(files.begin(), files.end(),
                          [&](const embedded_file& e) { return e.name == name; });
    if (f == files.end())
      return {404, "text/plain", "not found: " + std::string{path} + "\n"};
    body = f->bytes;
  } else {
    std::ifstream in{dir + "/" + std::string{name}, std::ios::binary};
    if (!in)
      return {404, "text/plain", "not found: " + std::string{path} + "\n"};
    std::ostringstream read;
    read << in.rdbuf();
    body = std::move(read).str();
  }
  std::string type = "application/octet-stream";
  auto ends_with = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html"))
    type = "text/html; charset=utf-8";
  else if (ends_with(".js"))
    type = "text/javascript; charset=utf-8";
  else if (ends_with(".css"))
    type = "text/css; charset=utf-8";
  return {200, type, std::move(body)};
}

http_reply route(std::string_view target, const std::string& asset_dir) {
  auto qm = target.find('?');
  auto path = target.substr(0, qm);
  auto query = qm == std::string_view::npos ? std::string_view{} : target.substr(qm + 1);
  try {
    return dispatch(path, parse_query(query), asset_dir);
  } catch (const std::exception& e) {
    // The user boundary of the runtime throws (a bad filter, a runtime
    // shutting down); here that is a reply.
    return refusal(400, e.what());
  }
}

} // namespace manta::actors
