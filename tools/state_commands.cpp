#include "tools/state_commands.hpp"

#include "manta/detail/cluster.hpp"
#include "manta/detail/runtime_dir.hpp"
#include "manta/detail/cluster_token.hpp"
#include "manta/detail/memory_budget.hpp"
#include "tools/command_help.hpp"
#include "tools/http_client.hpp"

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

/// What every state command parses from its arguments.
struct options {
  std::string address;
  std::vector<std::string> positional;
  std::vector<std::string> filters;
  std::string format = "table";
  std::string output;
  std::string limit;
  std::string token;
  std::string error;
};

/// The dashboard of the latest node started here, from a runtime folder and
/// file that must be this user's alone (another user could plant an address
/// of theirs); `error` says why one was refused.
std::optional<std::string> recorded_address(std::string& error) {
  auto file = detail::read_runtime_file("dashboard.address");
  if (!file.missing && !file.error.empty() && error.empty())
    error = file.error;
  std::istringstream in{file.text};
  std::string out;
  if (file.error.empty() && in >> out)
    return out;
  return std::nullopt;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (a == flag && i + 1 < argc)
        return std::string{argv[++i]};
      if (a.rfind(std::string{flag} + "=", 0) == 0)
        return std::string{a.substr(flag.size() + 1)};
      return std::nullopt;
    };
    if (auto v = value("--address"))
      o.address = *v;
    else if (auto v = value("--dashboard"))
      o.address = *v;
    else if (auto v = value("--filter"))
      o.filters.push_back(*v);
    else if (auto v = value("--format"))
      o.format = *v;
    else if (auto v = value("--limit"))
      o.limit = *v;
    else if (auto v = value("--token"))
      o.token = *v;
    else if (auto v = value("-o"))
      o.output = *v;
    else if (auto v = value("--output"))
      o.output = *v;
    else if (a.rfind("-", 0) == 0)
      o.error = "unknown option '" + std::string{a} + "'\n" + option_hint(argv[0], a)
                + "  (manta " + argv[0] + " --help lists its options)";
    else
      o.positional.emplace_back(a);
  }
  if (o.format != "table" && o.format != "json")
    o.error = "--format is table or json, not '" + o.format + "'";
  if (o.address.empty())
    if (auto env = std::getenv("MANTA_DASHBOARD"); env != nullptr && *env != '\0')
      o.address = env;
  if (o.address.empty())
    o.address = recorded_address(o.error).value_or("");
  // A dashboard off loopback asks for the cluster token. Sent only when
  // given: the head.token file is not sent to whatever address was named.
  if (o.token.empty())
    if (auto env = std::getenv("MANTA_TOKEN"); env != nullptr && *env != '\0')
      o.token = env;
  if (o.error.empty() && o.address.empty())
    o.error = "no node to ask: give --address=127.0.0.1:PORT (the port a node started with "
              "--dashboard-port printed), or set MANTA_DASHBOARD";
  return o;
}

/// Percent-encodes all but unreserved characters (names like "c 1").
std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

/// Fetches `target`; on failure prints why and returns nullopt.
std::optional<std::string> fetch(const options& o, const std::string& target) {
  auto r = http_get(o.address, target, 10, o.token);
  if (!r.error.empty()) {
    std::fprintf(stderr, "manta: %s\n(is a node with a dashboard running at %s?)\n",
                 r.error.c_str(), o.address.c_str());
    return std::nullopt;
  }
  if (r.status != 200) {
    std::fprintf(stderr, "manta: %s answered %d: %s\n", o.address.c_str(), r.status,
                 r.body.c_str());
    if (r.status == 401)
      std::fprintf(stderr, "(give the cluster token with --token=TOKEN or MANTA_TOKEN; the "
                           "head started here keeps it in %s)\n",
                   detail::default_token_file().c_str());
    return std::nullopt;
  }
  return std::move(r.body);
}

std::string text_of(const json::value& v) {
  if (v.is_string())
    return std::string{v.as_string()};
  if (v.is_null())
    return "";
  if (v.is_object()) { // resources: "CPU 1/2, GPU 0/1" handled by the caller
    std::string out;
    for (auto& [k, x] : v.as_object()) {
      if (!out.empty())
        out += ',';
      out.append(k.data(), k.size());
      out += ':';
      out += json::serialize(x);
    }
    return out;
  }
  return json::serialize(v);
}

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

/// A byte count in human units ("12.3 MiB"); --format=json keeps the number.
std::string bytes_text(const json::value& v) {
  if (!v.is_number())
    return text_of(v);
  return detail::format_bytes(static_cast<size_t>(v.to_number<double>()));
}

using column = std::pair<const char*, std::string (*)(const json::object&)>;

/// A field of a row; "" if the node's answer has none (a node of an older
/// version: no "job" field).
std::string field_text(const json::object& x, const char* key) {
  auto* v = x.if_contains(key);
  return v == nullptr ? std::string{} : text_of(*v);
}

#define MANTA_FIELD(key) [](const json::object& x) { return field_text(x, key); }

const std::vector<column>& columns_of(const std::string& kind) {
  static const std::vector<column> tasks{
    {"ID", MANTA_FIELD("id")},         {"NAME", MANTA_FIELD("name")},
    {"KIND", MANTA_FIELD("kind")},     {"STATE", MANTA_FIELD("state")},
    {"THREAD", MANTA_FIELD("thread")}, {"NODE", MANTA_FIELD("node")},
    {"JOB", MANTA_FIELD("job")},       {"DURATION", duration},
    {"ERROR", MANTA_FIELD("error")}};
  static const std::vector<column> actors{
    {"CLASS", MANTA_FIELD("class_name")},    {"NAME", MANTA_FIELD("name")},
    {"STATE", MANTA_FIELD("state")},         {"RESTARTS", MANTA_FIELD("restarts")},
    {"QUEUED", MANTA_FIELD("queued_calls")}, {"RUNNING", MANTA_FIELD("running_calls")},
    {"NODE", MANTA_FIELD("node")},           {"JOB", MANTA_FIELD("job")},
    {"DEATH_CAUSE", MANTA_FIELD("death_cause")}};
  static const std::vector<column> objects{
    {"ID", MANTA_FIELD("id")},
    {"SIZE", [](const json::object& x) { return bytes_text(x.at("size_bytes")); }},
    {"WHERE", MANTA_FIELD("location")},  {"TYPE", MANTA_FIELD("type")},
    {"REFS", MANTA_FIELD("references")}, {"CREATED_BY", MANTA_FIELD("created_by")}};
  static const std::vector<column> nodes{
    {"NAME", MANTA_FIELD("name")},          {"ROLE", MANTA_FIELD("role")},
    {"STATE", MANTA_FIELD("state")},        {"TOTAL", MANTA_FIELD("total")},
    {"AVAILABLE", MANTA_FIELD("available")}, {"QUEUED", MANTA_FIELD("queued_tasks")},
    {"THREADS", MANTA_FIELD("executor_threads")}};
  return kind == "tasks" ? tasks : kind == "actors" ? actors : kind == "objects" ? objects : nodes;
}

#undef MANTA_FIELD

void print_table(const json::array& rows, const std::vector<column>& cols) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (auto& c : cols)
    width.push_back(std::strlen(c.first));
  for (auto& r : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < cols.size(); ++i) {
      line.push_back(cols[i].second(r.as_object()));
      width[i] = std::max(width[i], std::min<size_t>(line.back().size(), 60));
    }
    cells.push_back(std::move(line));
  }
  auto print_row = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      auto text = line[i].size() > 60 ? line[i].substr(0, 57) + "..." : line[i];
      out += text;
      if (i + 1 < line.size())
        out += std::string(width[i] - text.size() + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  std::vector<std::string> header;
  for (auto& c : cols)
    header.emplace_back(c.first);
  print_row(header);
  for (auto& line : cells)
    print_row(line);
  std::printf("-- %zu row(s)\n", rows.size());
}

int usage_error(const options& o, const char* usage) {
  std::fprintf(stderr, "manta: %s\nusage: %s\n", o.error.c_str(), usage);
  return 2;
}

/// Checks the options and fetches `target`; with --format=json prints the
/// body as it is. Returns the body left to render, or nullopt with the exit
/// code in `rc` (2: bad usage, 1: no answer, 0: printed).
std::optional<std::string> fetch_or_print(const options& o, const char* usage,
                                          const std::string& target, int& rc) {
  if (!o.error.empty()) {
    rc = usage_error(o, usage);
    return std::nullopt;
  }
  auto body = fetch(o, target);
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
  const char* usage = "manta list tasks|actors|objects|nodes [--filter KEY=VALUE]... "
                      "[--limit=N] [--format=table|json] [--address=HOST:PORT]";
  auto o = parse(argc, argv);
  std::string kind = o.positional.empty() ? "" : o.positional[0];
  if (o.error.empty() && kind != "tasks" && kind != "actors" && kind != "objects"
      && kind != "nodes")
    o.error = "list what? tasks, actors, objects or nodes";
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
  auto body = fetch_or_print(o, usage, "/api/" + kind + query, rc);
  if (body)
    print_table(json::parse(*body).as_array(), columns_of(kind));
  return rc;
}

int node_status_main(int argc, char** argv) {
  auto o = parse(argc, argv);
  int rc = 0;
  auto body = fetch_or_print(o, "manta status --dashboard=HOST:PORT", "/api/status", rc);
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
  auto o = parse(argc, argv);
  int rc = 0;
  auto body = fetch_or_print(o, "manta memory [--format=table|json] [--address=HOST:PORT]",
                             "/api/memory", rc);
  if (body)
    std::printf("%s", text_of(json::parse(*body).as_object().at("text")).c_str());
  return rc;
}

int timeline_main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (o.error.empty() && o.output.empty())
    o.error = "give the file to write with -o trace.json";
  if (!o.error.empty())
    return usage_error(o, "manta timeline -o trace.json [--address=HOST:PORT]");
  auto body = fetch(o, "/api/timeline");
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
  auto o = parse(argc, argv);
  if (o.error.empty() && o.positional.size() != 1)
    o.error = "give one object id (16 hex digits, as `manta list tasks` prints)";
  int rc = 0;
  auto body = fetch_or_print(o, "manta why OBJECT_ID [--address=HOST:PORT]",
                             "/api/why?id=" + (o.positional.empty() ? "" : o.positional[0]), rc);
  if (body)
    std::printf("%s", text_of(json::parse(*body).as_object().at("text")).c_str());
  return rc;
}

} // namespace manta::tools
