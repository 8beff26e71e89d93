#include "tools/state_client.hpp"

#include "manta/cluster/cluster_token.hpp"
#include "manta/store/memory_budget.hpp"
#include "manta/core/runtime_dir.hpp"
#include "tools/command_help.hpp"
#include "tools/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>

namespace manta::tools {

namespace json = boost::json;

namespace {

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

} // namespace

state_options parse_state_options(int argc, char** argv) {
  state_options o;
  o.verb = argv[0];
  o.args = parse_command(o.verb, argc, argv);
  o.error = o.args.error;
  for (auto& [name, value] : o.args.flags) // --dashboard is --address
    if (name == "address" || name == "dashboard")
      o.address = value;
  o.filters = o.args.values("filter");
  o.format = o.args.value("format", o.format);
  o.limit = o.args.value("limit");
  o.token = o.args.value("token");
  o.output = o.args.value("output");
  o.positional = o.args.arguments;
  if (o.error.empty() && o.format != "table" && o.format != "json")
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
std::optional<std::string> fetch_state(const state_options& o, const std::string& target) {
  auto r = http_get(o.address, target, 10, o.token);
  if (!r.error.empty()) {
    std::fprintf(stderr, "manta: %s\n(is a node with a dashboard running at %s?)\n",
                 r.error.c_str(), o.address.c_str());
    return std::nullopt;
  }
  if (r.status != 200) {
    // The dashboard's {"error": "..."}: the message alone.
    boost::system::error_code ec;
    auto answer = json::parse(r.body, ec);
    auto* said = !ec && answer.is_object() ? answer.as_object().if_contains("error") : nullptr;
    auto text = said != nullptr && said->is_string() ? std::string{said->as_string()} : r.body;
    std::fprintf(stderr, "manta: %s answered %d: %s\n", o.address.c_str(), r.status, text.c_str());
    if (r.status == 401)
      std::fprintf(stderr,
                   "(give the cluster token with --token=TOKEN or MANTA_TOKEN; the "
                   "head started here keeps it in %s)\n",
                   detail::default_token_file().c_str());
    return std::nullopt;
  }
  return std::move(r.body);
}


int state_usage_error(const state_options& o) {
  std::fprintf(stderr, "manta %s: %s\n%s", o.verb.c_str(), o.error.c_str(),
               verb_usage(o.verb).c_str());
  return exit_usage;
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


/// A byte count in human units ("12.3 MiB"); --format=json keeps the number.
std::string bytes_text(const json::value& v) {
  if (!v.is_number())
    return text_of(v);
  return detail::format_bytes(static_cast<size_t>(v.to_number<double>()));
}


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

} // namespace manta::tools
