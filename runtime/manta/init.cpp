#include "manta/init.hpp"

#include "actors/atoms.hpp"
#include "manta/cluster.hpp"
#include "manta/detail/actor_defaults.hpp"
#include "manta/detail/cluster.hpp"
#include "manta/detail/cluster_token.hpp"
#include "manta/detail/code_loader.hpp"
#include "manta/detail/node_address.hpp"
#include "manta/detail/node_argv.hpp"
#include "manta/detail/option_values.hpp"
#include "manta/detail/runtime_dir.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/sim_config.hpp"
#include "manta/detail/sim_hooks.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace manta {

namespace {

using detail::got;
using detail::is_decimal;
using detail::decimal_prefix;
using detail::parse_amount;
using detail::parse_bytes;
using detail::parse_port;
using detail::parse_duration;
using detail::parse_switch;
using detail::parse_resources;
using detail::parse_transport;

/// The token in the file `--token-file` names (this user's alone, mode 0600:
/// runtime_dir.hpp).
std::string token_from_file(std::string_view flag, std::string_view path) {
  std::string err;
  auto token = detail::read_token_file(std::string{path}, err);
  if (err.empty() && token.empty())
    err = "the token file " + std::string{path} + " does not exist or is empty";
  if (!err.empty())
    throw invalid_argument_error("manta::init: " + std::string{flag} + ": " + err);
  return token;
}

/// Manta's options, by the name they have as a flag ("--NAME=VALUE") and as
/// a key of a config file ("NAME = VALUE").
constexpr std::string_view option_names[] = {
  "num-cpus",     "resources",   "scheduler-threads", "object-store-memory",
  "object-spill-dir", "object-spilling", "address", "token", "token-file", "tls-cert", "tls-key",
  "tls-ca",       "transport",   "task-events", "task-history",      "dashboard-port",
  "log-prefix",   "advertise-address", "connection-timeout", "config",
  "memory-usage-threshold", "memory-limit", "dashboard-host", "node-ip-address",
  "trusted-network", "head-store", "code-search-path", "namespace", "default-actor-lifetime"};

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
/// `where` names it in errors ("--num-cpus", or "FILE:LINE: num-cpus"), which
/// show the value unless it came from a config file (`show`).
void apply_option(std::string_view name, const std::string& where, std::string_view v,
                  init_options& opts, bool show = true) {
  if (name == "num-cpus")
    opts.num_cpus = parse_amount(where, v, show);
  else if (name == "resources")
    opts.resources = parse_resources(where, v, show);
  else if (name == "scheduler-threads")
    opts.scheduler_threads = static_cast<size_t>(std::max(1.0, parse_amount(where, v, show)));
  else if (name == "object-store-memory")
    opts.object_store_memory = parse_bytes(where, v, show);
  else if (name == "object-spill-dir")
    opts.object_spill_directory = std::string{v};
  else if (name == "object-spilling")
    opts.object_spilling = parse_switch(where, v, show);
  else if (name == "address")
    opts.address = std::string{v};
  else if (name == "task-events")
    opts.task_events = parse_switch(where, v, show);
  else if (name == "task-history")
    opts.task_history = static_cast<size_t>(parse_amount(where, v, show));
  else if (name == "log-prefix")
    opts.log_prefix = parse_switch(where, v, show);
  else if (name == "dashboard-port")
    opts.dashboard_port = parse_port(where, v, show);
  else if (name == "dashboard-host")
    opts.dashboard_host = std::string{v};
  else if (name == "token")
    opts.token = std::string{v};
  else if (name == "token-file")
    opts.token = token_from_file(where, v);
  else if (name == "tls-cert")
    opts.tls.certificate = std::string{v};
  else if (name == "tls-key")
    opts.tls.key = std::string{v};
  else if (name == "tls-ca")
    opts.tls.ca_file = std::string{v};
  else if (name == "transport")
    opts.tls.plain = parse_transport(where, v);
  else if (name == "advertise-address")
    opts.advertise_address = std::string{v};
  else if (name == "connection-timeout")
    opts.connection_timeout = parse_duration(where, v, show);
  else if (name == "memory-usage-threshold")
    opts.memory_usage_threshold = parse_amount(where, v); // range checked at start
  else if (name == "memory-limit")
    opts.memory_limit = parse_bytes(where, v);
  else if (name == "node-ip-address") {
    detail::check_node_ip(where, std::string{v});
    opts.node_ip_address = std::string{v};
  } else if (name == "trusted-network")
    opts.trusted_network = parse_switch(where, v, show);
  else if (name == "head-store")
    opts.head_store = std::string{v};
  else if (name == "code-search-path")
    opts.code_search_path = detail::split_code_search_path(v);
  else if (name == "namespace")
    opts.ns = std::string{v}; // checked by init
  else if (name == "default-actor-lifetime") {
    if (v == "detached")
      opts.default_actor_lifetime = actor_lifetime::detached;
    else if (v == "non_detached")
      opts.default_actor_lifetime = actor_lifetime::non_detached;
    else
      throw invalid_argument_error(where + ": expected detached or non_detached, "
                                   + got(v, show));
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// The largest config file read: a real one has a few dozen lines.
constexpr size_t max_config_bytes = 1 << 20;

/// A key as errors show it: the name of an option, or "an unknown key" if
/// it is long or not printable (it may be a line of someone else's file).
std::string shown_key(std::string_view key) {
  bool plain = key.size() <= 40;
  for (char c : key)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  return plain ? "unknown key '" + std::string{key} + "'" : std::string{"an unknown key"};
}

/// Reads a config file: one "key = value" per line, '#' starts a comment;
/// the keys are the options' flag names. An unknown key, a line without
/// '=' or a key given twice is an error naming the file and line. Only a
/// regular file of at most 1 MiB is read (not /dev/zero or a FIFO), and
/// errors never show a value or a line: only a key that is an option's
/// name, or a short plain word.
void read_config_file(const std::string& path, init_options& opts) {
  auto file = detail::read_checked_file(path, max_config_bytes, detail::file_rule::readable);
  if (!file.error.empty())
    throw invalid_argument_error("manta::init: the config file (given by --config or "
                                 "MANTA_CONFIG): " + file.error
                                 + "; give a regular file of at most 1 MiB");
  // A token in a file others can read is no secret.
  bool others_read = (file.mode & (S_IRWXG | S_IRWXO)) != 0;
  std::istringstream in{file.text};
  std::string line;
  std::set<std::string, std::less<>> seen;
  for (int number = 1; std::getline(in, line); ++number) {
    auto text = trimmed(std::string_view{line}.substr(0, line.find('#')));
    if (text.empty())
      continue;
    auto at = path + ":" + std::to_string(number) + ": ";
    auto eq = text.find('=');
    if (eq == std::string_view::npos)
      throw invalid_argument_error("manta::init: " + at + "expected 'key = value' (the "
                                   "line is not shown); " + options_hint()
                                   + "; a config file takes them without --");
    auto key = trimmed(text.substr(0, eq));
    if (!is_option(key) || key == "config")
      throw invalid_argument_error("manta::init: " + at + shown_key(key)
                                   + " (a typo, or an option of another Manta version?); "
                                   + options_hint() + "; a config file takes them without --");
    if (!seen.insert(std::string{key}).second)
      throw invalid_argument_error("manta::init: " + at + "key '" + std::string{key}
                                   + "' is given twice");
    if (key == "token" && others_read)
      throw invalid_argument_error("manta::init: " + at + "a token in a file other users can "
                                   "read is no secret; `chmod 600 " + path
                                   + "`, or give token-file = FILE");
    apply_option(key, at + std::string{key}, trimmed(text.substr(eq + 1)), opts,
                 /*show=*/false);
  }
}

} // namespace

void init(init_options opts) {
  detail::refuse_node_without_argv();
  if (detail::runtime::current() == nullptr) // else start says it runs already
    detail::set_actor_defaults(opts.ns, opts.default_actor_lifetime);
  detail::declare_job_code(opts.code_search_path);
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
  if (auto env = std::getenv("MANTA_TRANSPORT"); env != nullptr && *env != '\0')
    opts.tls.plain = parse_transport("MANTA_TRANSPORT", env);
  if (auto env = std::getenv("MANTA_ADVERTISE_ADDRESS"); env != nullptr && *env != '\0')
    opts.advertise_address = env;
  if (auto env = std::getenv("MANTA_CONNECTION_TIMEOUT"); env != nullptr && *env != '\0')
    opts.connection_timeout = parse_duration("MANTA_CONNECTION_TIMEOUT", env);
  if (auto env = std::getenv("MANTA_MEMORY_USAGE_THRESHOLD"); env != nullptr && *env != '\0')
    opts.memory_usage_threshold = parse_amount("MANTA_MEMORY_USAGE_THRESHOLD", env);
  if (auto env = std::getenv("MANTA_MEMORY_LIMIT"); env != nullptr && *env != '\0')
    opts.memory_limit = parse_bytes("MANTA_MEMORY_LIMIT", env);
  if (auto env = std::getenv("MANTA_NODE_IP"); env != nullptr && *env != '\0') {
    detail::check_node_ip("MANTA_NODE_IP", env);
    opts.node_ip_address = env;
  }
  if (auto env = std::getenv("MANTA_TRUSTED_NETWORK"); env != nullptr && *env != '\0')
    opts.trusted_network = parse_switch("MANTA_TRUSTED_NETWORK", env);
  if (auto env = std::getenv("MANTA_CODE_SEARCH_PATH"); env != nullptr && *env != '\0')
    opts.code_search_path = detail::split_code_search_path(env);
  if (auto env = std::getenv("MANTA_HEAD_STORE"); env != nullptr && *env != '\0')
    opts.head_store = env;
  if (auto env = std::getenv("MANTA_NAMESPACE"); env != nullptr && *env != '\0')
    opts.ns = env;
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
    if (arg == "--trusted-network") { // a switch: on when given alone
      opts.trusted_network = true;
      continue;
    }
    if (arg.substr(0, 2) == "--") {
      auto name = arg.substr(2, arg.find('=') == std::string_view::npos
                                  ? std::string_view::npos
                                  : arg.find('=') - 2);
      if (is_option(name)) {
        auto flag = "--" + std::string{name};
        if (auto v = value_of(flag)) {
          if (name == "config")
            continue; // read before the loop
          if (name == "token")
            throw invalid_argument_error(
              "manta::init: --token is refused on a command line: every user of this "
              "machine can read a command line (ps, /proc/PID/cmdline); give the token in a "
              "file only you can read with --token-file=FILE (mode 0600), or in the "
              "environment variable MANTA_TOKEN");
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
  if (auto sim = detail::parse_sim_flags(argc, argv)) { // --simulate, --seed=N, --sim-*
    init(std::move(cl.opts), std::move(*sim));
    return;
  }
  init(std::move(cl.opts));
}

void shutdown() {
  detail::sim_stop(); // prints its summary; the runtime then stops as usual
  detail::runtime::stop();
  detail::reset_actor_defaults();
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
