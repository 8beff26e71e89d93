#include "tools/state_commands.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/core/runtime_dir.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/store/memory_budget.hpp"
#include "tools/command_help.hpp"
#include "tools/http_client.hpp"
#include "tools/state_client.hpp"

#include <boost/json/src.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace manta::tools {

namespace json = boost::json;

namespace {

std::string duration(const json::object& t) {
  auto start = t.at("started_us").to_number<double>();
  auto end = t.at("ended_us").to_number<double>();
  if (start == 0)
    return "";
  if (end == 0)
    return "running";
  char buf[32];
  auto us = end - start;
  if (us < 1000)
    std::snprintf(buf, sizeof(buf), "%.0f us", us);
  else
    std::snprintf(buf, sizeof(buf), "%.3f ms", us / 1000.0);
  return buf;
}

/// A field of a row; "" if the node's answer has none (a node of an older
/// version: no "job" field).
std::string field_text(const json::object& x, const char* key) {
  auto* v = x.if_contains(key);
  return v == nullptr ? std::string{} : text_of(*v);
}

/// A group's bundles and where each sits: "0 {CPU: 1} node-0; 1 ...".
std::string bundles_text(const json::object& g) {
  std::string out;
  for (auto& b : g.at("bundles").as_array()) {
    auto& x = b.as_object();
    out += out.empty() ? "" : "; ";
    out += text_of(x.at("index")) + " {";
    bool first = true;
    for (auto& [name, amount] : x.at("resources").as_object()) {
      out += first ? "" : ", ";
      out += std::string{name} + ": " + text_of(amount);
      first = false;
    }
    auto node = text_of(x.at("node"));
    out += "} " + (node.empty() ? std::string{"(pending)"} : node);
  }
  return out;
}

#define MANTA_FIELD(key) [](const json::object& x) { return field_text(x, key); }

const std::vector<column>& columns_of(const std::string& kind) {
  static const std::vector<column> tasks{
    {"ID", MANTA_FIELD("id")},         {"NAME", MANTA_FIELD("name")},
    {"KIND", MANTA_FIELD("kind")},     {"STATE", MANTA_FIELD("state")},
    {"THREAD", MANTA_FIELD("thread")}, {"NODE", MANTA_FIELD("node")},
    {"JOB", MANTA_FIELD("job")},       {"DURATION", duration},
    {"ERROR", MANTA_FIELD("error")}};
  static const std::vector<column> actors{{"ID", MANTA_FIELD("id")},
                                          {"CLASS", MANTA_FIELD("class_name")},
                                          {"NAME", MANTA_FIELD("name")},
                                          {"STATE", MANTA_FIELD("state")},
                                          {"RESTARTS", MANTA_FIELD("restarts")},
                                          {"QUEUED", MANTA_FIELD("queued_calls")},
                                          {"RUNNING", MANTA_FIELD("running_calls")},
                                          {"NODE", MANTA_FIELD("node")},
                                          {"JOB", MANTA_FIELD("job")},
                                          {"DEATH_CAUSE", MANTA_FIELD("death_cause")}};
  static const std::vector<column> objects{
    {"ID", MANTA_FIELD("id")},
    {"SIZE", [](const json::object& x) { return bytes_text(x.at("size_bytes")); }},
    {"WHERE", MANTA_FIELD("location")},
    {"TYPE", MANTA_FIELD("type")},
    {"REFS", MANTA_FIELD("references")},
    {"CREATED_BY", MANTA_FIELD("created_by")}};
  static const std::vector<column> nodes{{"NAME", MANTA_FIELD("name")},
                                         {"ROLE", MANTA_FIELD("role")},
                                         {"STATE", MANTA_FIELD("state")},
                                         {"TOTAL", MANTA_FIELD("total")},
                                         {"AVAILABLE", MANTA_FIELD("available")},
                                         {"QUEUED", MANTA_FIELD("queued_tasks")},
                                         {"THREADS", MANTA_FIELD("executor_threads")}};
  static const std::vector<column> placement_groups{{"ID", MANTA_FIELD("id")},
                                                    {"NAME", MANTA_FIELD("name")},
                                                    {"STRATEGY", MANTA_FIELD("strategy")},
                                                    {"STATE", MANTA_FIELD("state")},
                                                    {"BUNDLES", bundles_text},
                                                    {"TASKS", MANTA_FIELD("tasks")},
                                                    {"ACTORS", MANTA_FIELD("actors")}};
  if (kind == "placement-groups")
    return placement_groups;
  return kind == "tasks" ? tasks : kind == "actors" ? actors : kind == "objects" ? objects : nodes;
}

#undef MANTA_FIELD

/// Checks the options and fetches `target`; with --format=json prints the
/// body as it is. Returns the body left to render, or nullopt with the exit
/// code in `rc` (2: bad usage, 1: no answer, 0: printed).
std::optional<std::string> fetch_or_print(const state_options& o, const std::string& target,
                                          int& rc) {
  if (!o.error.empty()) {
    rc = state_usage_error(o);
    return std::nullopt;
  }
  auto body = fetch_state(o, target);
  rc = body ? 0 : 1;
  if (body && o.format == "json") {
    std::printf("%s\n", body->c_str());
    return std::nullopt;
  }
  return body;
}

} // namespace

bool wants_node_status(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view{argv[i]}.rfind("--dashboard", 0) == 0)
      return true;
  return std::getenv("MANTA_DASHBOARD") != nullptr;
}

int list_main(int argc, char** argv) {
  auto o = parse_state_options(argc, argv);
  std::string kind = o.positional.empty() ? "" : o.positional[0];
  if (o.error.empty() && kind != "tasks" && kind != "actors" && kind != "objects" && kind != "nodes"
      && kind != "placement-groups")
    o.error = "list what? tasks, actors, objects, nodes or placement-groups";
  std::string query;
  for (auto& f : o.filters) {
    auto eq = f.find('=');
    if (eq == std::string::npos) {
      o.error = "filter '" + f + "' is not KEY=VALUE (e.g. state=RUNNING)";
      continue;
    }
    query += query.empty() ? '?' : '&';
    query += url_encode(f.substr(0, eq));
    query += '=';
    query += url_encode(f.substr(eq + 1));
  }
  if (!o.limit.empty()) {
    query += query.empty() ? "?limit=" : "&limit=";
    query += url_encode(o.limit);
  }
  int rc = 0;
  auto endpoint = kind == "placement-groups" ? std::string{"placement_groups"} : kind;
  auto body = fetch_or_print(o, "/api/" + endpoint + query, rc);
  if (body)
    print_table(json::parse(*body).as_array(), columns_of(kind));
  return rc;
}

int node_status_main(int argc, char** argv) {
  auto o = parse_state_options(argc, argv);
  int rc = 0;
  auto body = fetch_or_print(o, "/api/status", rc);
  if (!body)
    return rc;
  auto s = json::parse(*body).as_object();
  std::printf("node %s\n", text_of(s.at("node")).c_str());
  std::printf("tasks:");
  for (auto& [state, n] : s.at("tasks").as_object())
    std::printf(" %s=%s", std::string{state}.c_str(), json::serialize(n).c_str());
  std::printf("\nactors: %s, objects: %s, bytes in memory: %s of %s, spilled: %s\nnodes:\n",
              json::serialize(s.at("actors")).c_str(), json::serialize(s.at("objects")).c_str(),
              bytes_text(s.at("bytes_in_memory")).c_str(), bytes_text(s.at("budget_bytes")).c_str(),
              bytes_text(s.at("bytes_spilled")).c_str());
  print_table(s.at("nodes").as_array(), columns_of("nodes"));
  return 0;
}

int memory_main(int argc, char** argv) {
  auto o = parse_state_options(argc, argv);
  int rc = 0;
  auto body = fetch_or_print(o, "/api/memory", rc);
  if (body)
    std::printf("%s", text_of(json::parse(*body).as_object().at("text")).c_str());
  return rc;
}

int timeline_main(int argc, char** argv) {
  auto o = parse_state_options(argc, argv);
  if (o.error.empty() && o.output.empty())
    o.error = "give the file to write with -o trace.json";
  if (!o.error.empty())
    return state_usage_error(o);
  auto body = fetch_state(o, "/api/timeline");
  if (!body)
    return 1;
  std::ofstream f{o.output, std::ios::binary | std::ios::trunc};
  f << *body;
  f.flush();
  if (!f) {
    std::fprintf(stderr, "manta: cannot write %s\n", o.output.c_str());
    return 1;
  }
  auto events = json::parse(*body).as_object().at("traceEvents").as_array().size();
  std::printf("wrote %zu trace events to %s (open it in https://ui.perfetto.dev or "
              "chrome://tracing)\n",
              events, o.output.c_str());
  return 0;
}

int why_main(int argc, char** argv) {
  auto o = parse_state_options(argc, argv);
  if (o.error.empty() && o.positional.size() != 1)
    o.error = "give one object id (16 hex digits, as `manta list tasks` prints)";
  int rc = 0;
  auto body = fetch_or_print(o, "/api/why?id=" + (o.positional.empty() ? "" : o.positional[0]), rc);
  if (body)
    std::printf("%s", text_of(json::parse(*body).as_object().at("text")).c_str());
  return rc;
}

} // namespace manta::tools
