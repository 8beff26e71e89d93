#include "manta/init.hpp"

#include "actors/atoms.hpp"
#include "manta/cluster.hpp"
#include "manta/detail/cluster.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

namespace manta {

namespace {

double parse_amount(std::string_view flag, std::string_view text) {
  std::string s{text};
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x) || x < 0)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a finite, non-negative number, got '"
                                 + s + "'");
  return x;
}

/// Parses a byte count: "1073741824", "512M", "2G", "64KiB".
size_t parse_bytes(std::string_view flag, std::string_view text) {
  std::string s{text};
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  std::string_view unit{end};
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "K" || unit == "KB" || unit == "KiB" || unit == "k")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    scale = 1024.0 * 1024.0;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    scale = 1024.0 * 1024.0 * 1024.0;
  if (s.empty() || end == s.c_str() || scale == 0 || !std::isfinite(x) || x * scale < 1)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a positive byte count such as "
                                   "1073741824, 512M or 2G, got '"
                                 + s + "'");
  return static_cast<size_t>(x * scale);
}

/// Parses a TCP port: 0 (any free port) to 65535.
uint16_t parse_port(std::string_view flag, std::string_view text) {
  std::string s{text};
  char* end = nullptr;
  errno = 0;
  auto x = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0 || x < 0 || x > 65535)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a port from 0 (any free port) to 65535, got '"
                                 + s + "'");
  return static_cast<uint16_t>(x);
}

/// Parses a duration: "4s", "500ms", "1.5s", "2m"; 100 ms to 1 hour.
std::chrono::milliseconds parse_duration(std::string_view flag, std::string_view text) {
  std::string s{text};
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  std::string_view unit{end};
  double ms = unit == "ms" ? 1 : unit == "s" ? 1e3 : unit == "m" ? 60e3 : 0;
  if (s.empty() || end == s.c_str() || ms == 0 || !std::isfinite(x) || x * ms < 100
      || x * ms > 3600e3)
    throw invalid_argument_error("manta::init: " + std::string{flag}
                                 + " expects a duration from 100ms to 1h with its unit, "
                                   "such as 4s, 500ms or 2m, got '"
                                 + s + "'");
  return std::chrono::milliseconds{static_cast<int64_t>(x * ms)};
}

bool parse_switch(std::string_view flag, std::string_view text) {
  if (text == "on" || text == "true" || text == "1")
    return true;
  if (text == "off" || text == "false" || text == "0")
    return false;
  throw invalid_argument_error("manta::init: " + std::string{flag}
                               + " expects on or off, got '" + std::string{text} + "'");
}

/// Parses "GPU:1,disk:2".
resource_map parse_resources(std::string_view text) {
  resource_map out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto colon = item.find(':');
    if (colon == std::string_view::npos || colon == 0)
      throw invalid_argument_error("manta::init: --resources expects NAME:AMOUNT "
                                   "pairs separated by commas (e.g. GPU:1,disk:2), got '"
                                   + std::string{item} + "'");
    out[std::string{item.substr(0, colon)}] =
      parse_amount("--resources", item.substr(colon + 1));
  }
  return out;
}

/// Manta's options, by the name they have as a flag ("--NAME=VALUE") and as
/// a key of a config file ("NAME = VALUE").
constexpr std::string_view option_names[] = {
  "num-cpus",     "resources",   "scheduler-threads", "object-store-memory",
  "object-spill-dir", "object-spilling", "address", "token", "tls-cert", "tls-key",
  "tls-ca",       "task-events", "task-history",      "dashboard-port",
  "log-prefix",   "advertise-address", "connection-timeout", "config", "dashboard-host"};

bool is_option(std::string_view name) {
  for (auto known : option_names)
    if (name == known)
      return true;
  return false;
}

/// Lists the options, for errors about unknown ones.
std::string options_hint() {
  std::string out = "Manta's options are";
  for (auto known : option_names)
    out += " --" + std::string{known} + "=...";
  return out + ", and for cluster processes --manta-worker, --manta-head, --manta-port=P "
               "and --manta-address-file=PATH (see docs/cluster.md)";
}

/// Sets the option `name` (one of `option_names` but "config") from its text;
/// `where` names it in errors ("--num-cpus", or "FILE:LINE: num-cpus").
void apply_option(std::string_view name, const std::string& where, std::string_view v,
                  init_options& opts) {
  if (name == "num-cpus")
    opts.num_cpus = parse_amount(where, v);
  else if (name == "resources")
    opts.resources = parse_resources(v);
  else if (name == "scheduler-threads")
    opts.scheduler_threads = static_cast<size_t>(std::max(1.0, parse_amount(where, v)));
  else if (name == "object-store-memory")
    opts.object_store_memory = parse_bytes(where, v);
  else if (name == "object-spill-dir")
    opts.object_spill_directory = std::string{v};
  else if (name == "object-spilling")
    opts.object_spilling = parse_switch(where, v);
  else if (name == "address")
    opts.address = std::string{v};
  else if (name == "task-events")
    opts.task_events = parse_switch(where, v);
  else if (name == "task-history")
    opts.task_history = static_cast<size_t>(parse_amount(where, v));
  else if (name == "log-prefix")
    opts.log_prefix = parse_switch(where, v);
  else if (name == "dashboard-port")
    opts.dashboard_port = parse_port(where, v);
  else if (name == "dashboard-host")
    opts.dashboard_host = std::string{v};
  else if (name == "token")
    opts.token = std::string{v};
  else if (name == "tls-cert")
    opts.tls.certificate = std::string{v};
  else if (name == "tls-key")
    opts.tls.key = std::string{v};
  else if (name == "tls-ca")
    opts.tls.ca_file = std::string{v};
  else if (name == "advertise-address")
    opts.advertise_address = std::string{v};
  else if (name == "connection-timeout")
    opts.connection_timeout = parse_duration(where, v);
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// Reads a config file: one "key = value" per line, '#' starts a comment;
/// the keys are the options' flag names. An unknown key, a line without
/// '=' or a key given twice is an error naming the file and line.
void read_config_file(const std::string& path, init_options& opts) {
  std::ifstream in{path};
  if (!in)
    throw invalid_argument_error("manta::init: cannot read the config file '" + path
                                 + "' (given by --config or MANTA_CONFIG): "
                                 + std::strerror(errno));
  std::string line;
  std::set<std::string, std::less<>> seen;
  for (int number = 1; std::getline(in, line); ++number) {
    auto text = trimmed(std::string_view{line}.substr(0, line.find('#')));
    if (text.empty())
      continue;
    auto at = path + ":" + std::to_string(number) + ": ";
    auto eq = text.find('=');
    if (eq == std::string_view::npos)
      throw invalid_argument_error("manta::init: " + at + "expected 'key = value', got '"
                                   + std::string{text} + "'");
    auto key = trimmed(text.substr(0, eq));
    if (!is_option(key) || key == "config")
      throw invalid_argument_error("manta::init: " + at + "unknown key '" + std::string{key}
                                   + "' (a typo, or an option of another Manta version?); "
                                   + options_hint() + "; a config file takes them without --");
    if (!seen.insert(std::string{key}).second)
      throw invalid_argument_error("manta::init: " + at + "key '" + std::string{key}
                                   + "' is given twice");
    apply_option(key, at + std::string{key}, trimmed(text.substr(eq + 1)), opts);
  }
}

} // namespace

void init(init_options opts) {
  detail::runtime::start(opts);
}

namespace detail {

command_line parse_command_line(int argc, char** argv) {
  command_line out;
  auto& opts = out.opts;
  if (auto env = std::getenv("MANTA_NUM_CPUS"); env != nullptr && *env != '\0')
    opts.num_cpus = parse_amount("MANTA_NUM_CPUS", env);
  if (auto env = std::getenv("MANTA_OBJECT_STORE_MEMORY"); env != nullptr && *env != '\0')
    opts.object_store_memory = parse_bytes("MANTA_OBJECT_STORE_MEMORY", env);
  if (auto env = std::getenv("MANTA_ADDRESS"); env != nullptr && *env != '\0')
    opts.address = env;
  if (auto env = std::getenv("MANTA_TASK_EVENTS"); env != nullptr && *env != '\0')
    opts.task_events = parse_switch("MANTA_TASK_EVENTS", env);
  if (auto env = std::getenv("MANTA_DASHBOARD_PORT"); env != nullptr && *env != '\0')
    opts.dashboard_port = parse_port("MANTA_DASHBOARD_PORT", env);
  if (auto env = std::getenv("MANTA_DASHBOARD_HOST"); env != nullptr && *env != '\0')
    opts.dashboard_host = env;
  if (auto env = std::getenv("MANTA_TOKEN"); env != nullptr && *env != '\0')
    opts.token = env;
  if (auto env = std::getenv("MANTA_TLS_CERT"); env != nullptr)
    opts.tls.certificate = env;
  if (auto env = std::getenv("MANTA_TLS_KEY"); env != nullptr)
    opts.tls.key = env;
  if (auto env = std::getenv("MANTA_TLS_CA"); env != nullptr)
    opts.tls.ca_file = env;
  if (auto env = std::getenv("MANTA_ADVERTISE_ADDRESS"); env != nullptr && *env != '\0')
    opts.advertise_address = env;
  if (auto env = std::getenv("MANTA_CONNECTION_TIMEOUT"); env != nullptr && *env != '\0')
    opts.connection_timeout = parse_duration("MANTA_CONNECTION_TIMEOUT", env);
  // The config file (--config=FILE or MANTA_CONFIG) sits between the
  // environment and the command line: flags override it.
  std::string config;
  if (auto env = std::getenv("MANTA_CONFIG"); env != nullptr && *env != '\0')
    config = env;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg.substr(0, 9) == "--config=")
      config = std::string{arg.substr(9)};
    else if (arg == "--config" && i + 1 < argc)
      config = argv[i + 1];
  }
  if (!config.empty())
    read_config_file(config, opts);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    auto value_of = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (arg.substr(0, flag.size()) != flag)
        return std::nullopt;
      auto rest = arg.substr(flag.size());
      if (rest.empty()) {
        if (i + 1 >= argc)
          throw invalid_argument_error("manta::init: " + std::string{flag}
                                       + " needs a value");
        return std::string_view{argv[++i]};
      }
      if (rest.front() != '=')
        return std::nullopt;
      return rest.substr(1);
    };
    if (arg.substr(0, 2) == "--") {
      auto name = arg.substr(2, arg.find('=') == std::string_view::npos
                                  ? std::string_view::npos
                                  : arg.find('=') - 2);
      if (is_option(name)) {
        auto flag = "--" + std::string{name};
        if (auto v = value_of(flag)) {
          if (name == "config")
            continue; // read before the loop
          apply_option(name, flag, *v, opts);
          continue;
        }
      }
    }
    if (arg == "--manta-worker")
      out.worker = true;
    else if (arg == "--manta-head")
      out.head = true;
    else if (auto v = value_of("--manta-port"))
      out.port = parse_port("--manta-port", *v);
    else if (auto v = value_of("--manta-address-file"))
      out.address_file = std::string{*v};
    else if (arg.substr(0, 8) == "--manta-")
      throw invalid_argument_error("manta::init: unknown option '" + std::string{arg}
                                   + "'; " + options_hint());
  }
  return out;
}

} // namespace detail

void init(int argc, char** argv) {
  auto cl = detail::parse_command_line(argc, argv);
  if (cl.worker || cl.head)
    std::exit(cl.head ? head_main(argc, argv) : worker_main(argc, argv));
  init(std::move(cl.opts));
}

void shutdown() {
  detail::runtime::stop();
}

std::string dashboard_url() {
  auto address = detail::runtime::require("dashboard_url").dashboard_address();
  return address.empty() ? std::string{} : "http://" + address + "/";
}

bool is_initialized() noexcept {
  return detail::runtime::current() != nullptr;
}

namespace {

std::pair<resource_map, resource_map> query_resources(const char* what) {
  auto& rt = detail::runtime::require(what);
  std::pair<resource_map, resource_map> out;
  caf::scoped_actor self{rt.system()};
  self->request(rt.node_manager(), std::chrono::seconds(10),
                actors::resources_atom::value)
    .receive([&](resource_map& free, resource_map& total) {
               out = {std::move(free), std::move(total)};
             },
             [&](caf::error& err) {
               throw error(std::string{"manta::"} + what
                           + ": the node manager did not answer: "
                           + rt.system().render(err));
             });
  return out;
}

} // namespace

resource_map available_resources() {
  return query_resources("available_resources").first;
}

node_id current_node() {
  return detail::runtime::require("current_node").node_index();
}

resource_map cluster_resources() {
  auto out = query_resources("cluster_resources").second;
  if (auto* link = detail::runtime::require("cluster_resources").cluster_link())
    for (auto& [name, amount] : link->worker_totals())
      out[name] += amount;
  return out;
}

} // namespace manta
