#include "manta/core/init_flags.hpp"

#include "manta/cluster/cluster_token.hpp"
#include "manta/cluster/code_loader.hpp"
#include "manta/cluster/node_address.hpp"
#include "manta/core/option_values.hpp"
#include "manta/sim/sim_config.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <cstdlib>

namespace manta::detail {

namespace {

/// The token in the file `--token-file` names (this user's alone, mode 0600:
/// runtime_dir.hpp).
std::string token_from_file(std::string_view flag, std::string_view path) {
  std::string err;
  auto token = read_token_file(std::string{path}, err);
  if (err.empty() && token.empty())
    err = "the token file " + std::string{path} + " does not exist or is empty";
  if (!err.empty())
    throw invalid_argument_error("manta::init: " + std::string{flag} + ": " + err);
  return token;
}

actor_lifetime parse_lifetime(const std::string& where, std::string_view v, bool show) {
  if (v == "detached")
    return actor_lifetime::detached;
  if (v == "non_detached")
    return actor_lifetime::non_detached;
  throw invalid_argument_error(where + ": expected detached or non_detached, " + got(v, show));
}

using opts_t = init_options;
using where_t = const std::string&;
using text_t = std::string_view;

// An option's setter: `o` the options, `w` where the text came from, `v`
// the text, `s` whether errors may show it.
#define MANTA_SET(...)                                                                  \
  []([[maybe_unused]] opts_t& o, [[maybe_unused]] where_t w, [[maybe_unused]] text_t v, \
     [[maybe_unused]] bool s) { __VA_ARGS__; }

// A simulation option's row: no `init_options` setter, and `__VA_ARGS__`
// sets `o`, the simulation's options.
#define MANTA_SIM(...)                                                     \
  nullptr, false,                                                          \
    []([[maybe_unused]] simulation_options& o, [[maybe_unused]] where_t w, \
       [[maybe_unused]] text_t v) { __VA_ARGS__; }

uint32_t sim_count(where_t w, text_t v, uint64_t min) {
  return static_cast<uint32_t>(parse_sim_count(w, v, min, 1'000'000));
}

const init_flag flags[] = {
  {"num-cpus", "MANTA_NUM_CPUS", "N", "CPUs the node offers to tasks (default: its cores)",
   MANTA_SET(o.num_cpus = parse_amount(w, v, s))},
  {"resources", "", "NAME:N,...", "custom resources the node offers (GPU:2,disk:1)",
   MANTA_SET(o.resources = parse_resources(w, v, s))},
  {"scheduler-threads", "", "N", "threads of CAF's scheduler",
   MANTA_SET(o.scheduler_threads = static_cast<size_t>(std::max(1.0, parse_amount(w, v, s))))},
  {"object-store-memory", "MANTA_OBJECT_STORE_MEMORY", "BYTES", "the object store's budget",
   MANTA_SET(o.object_store_memory = parse_bytes(w, v, s))},
  {"object-spill-dir", "", "DIR", "where objects over the budget are spilled",
   MANTA_SET(o.object_spill_directory = std::string{v})},
  {"object-spilling", "", "on|off", "spill objects over the budget to disk",
   MANTA_SET(o.object_spilling = parse_switch(w, v, s))},
  {"address", "MANTA_ADDRESS", "HOST:PORT", "join the cluster whose head is there",
   MANTA_SET(o.address = std::string{v})},
  {"token", "MANTA_TOKEN", "TOKEN", "the cluster's token (not on a command line)",
   MANTA_SET(o.token = std::string{v})},
  {"token-file", "", "FILE", "the cluster's token, from a file only you can read",
   MANTA_SET(o.token = token_from_file(w, v))},
  {"tls-cert", "MANTA_TLS_CERT", "FILE", "this node's TLS certificate",
   MANTA_SET(o.tls.certificate = std::string{v}), true},
  {"tls-key", "MANTA_TLS_KEY", "FILE", "this node's TLS key", MANTA_SET(o.tls.key = std::string{v}),
   true},
  {"tls-ca", "MANTA_TLS_CA", "FILE", "the CA that signs the cluster's certificates",
   MANTA_SET(o.tls.ca_file = std::string{v}), true},
  {"transport", "MANTA_TRANSPORT", "tls|plain", "how nodes talk",
   MANTA_SET(o.tls.plain = parse_transport(w, v))},
  {"task-events", "MANTA_TASK_EVENTS", "on|off", "record task events (state API, timeline)",
   MANTA_SET(o.task_events = parse_switch(w, v, s))},
  {"task-history", "", "N", "task records kept",
   MANTA_SET(o.task_history = static_cast<size_t>(parse_amount(w, v, s)))},
  {"dashboard-port", "MANTA_DASHBOARD_PORT", "PORT", "the dashboard's port (0: any)",
   MANTA_SET(o.dashboard_port = parse_port(w, v, s))},
  {"log-prefix", "", "on|off", "prefix a task's printed lines with the task and node",
   MANTA_SET(o.log_prefix = parse_switch(w, v, s))},
  {"advertise-address", "MANTA_ADVERTISE_ADDRESS", "HOST", "the address other nodes reach",
   MANTA_SET(o.advertise_address = std::string{v})},
  {"connection-timeout", "MANTA_CONNECTION_TIMEOUT", "DURATION",
   "a silent connection is closed as broken after it (4s)",
   MANTA_SET(o.connection_timeout = parse_duration(w, v, s))},
  {"config", "MANTA_CONFIG", "FILE", "a file of 'key = value' lines with these names",
   MANTA_SET()}, // read by parse_command_line, before the flags
  {"memory-usage-threshold", "MANTA_MEMORY_USAGE_THRESHOLD", "FRACTION",
   "the memory monitor's threshold (0.95)",
   MANTA_SET(o.memory_usage_threshold = parse_amount(w, v))}, // range checked at start
  {"memory-limit", "MANTA_MEMORY_LIMIT", "BYTES", "the memory monitor's limit",
   MANTA_SET(o.memory_limit = parse_bytes(w, v))},
  {"dashboard-host", "MANTA_DASHBOARD_HOST", "HOST", "the dashboard's address",
   MANTA_SET(o.dashboard_host = std::string{v})},
  {"node-ip-address", "MANTA_NODE_IP", "IP", "this node's address for other nodes",
   MANTA_SET(check_node_ip(w, std::string{v}); o.node_ip_address = std::string{v})},
  {"trusted-network", "MANTA_TRUSTED_NETWORK", "on|off",
   "plain transport without a token (given alone: on)",
   MANTA_SET(o.trusted_network = parse_switch(w, v, s))},
  {"head-store", "MANTA_HEAD_STORE", "URL", "where the head keeps its state",
   MANTA_SET(o.head_store = std::string{v})},
  {"code-search-path", "MANTA_CODE_SEARCH_PATH", "DIR:...", "where a job's code is found",
   MANTA_SET(o.code_search_path = split_code_search_path(v))},
  {"namespace", "MANTA_NAMESPACE", "NAME", "the job's namespace for named actors",
   MANTA_SET(o.ns = std::string{v})}, // checked by init
  {"default-actor-lifetime", "", "detached|non_detached", "actors' lifetime by default",
   MANTA_SET(o.default_actor_lifetime = parse_lifetime(w, v, s))},
  // The process's level, set as the flag is read (set_log_level): the
  // runtime's lines (log_sink.hpp) and the user's (logging.hpp) follow it.
  {"log-level", "MANTA_LOG_LEVEL", "debug|info|warning|error", "lines below it are dropped (info)",
   MANTA_SET(set_log_level(parse_log_level(w, v, s)))},
  // The simulation (docs/simulation.md): read by sim_request, which decides
  // whether one runs and puts these over the schedule file's settings.
  {"simulate", "", "on|off", "run the program as a simulated cluster (given alone: on)",
   MANTA_SIM()},
  {"seed", "", "N", "the simulation's seed (1); alone it starts no simulation",
   MANTA_SIM(o.seed = parse_sim_count(w, v, 0, UINT64_MAX))},
  {"sim-nodes", "", "N", "virtual nodes, node 0 the driver's (4)",
   MANTA_SIM(o.nodes = sim_count(w, v, 1))},
  {"sim-cpus", "", "N", "CPUs of each virtual node (2)",
   MANTA_SIM(o.cpus_per_node = static_cast<double>(parse_sim_count(w, v, 1, 4096)))},
  {"sim-kills", "", "N", "random node kills drawn from the seed",
   MANTA_SIM(o.random_kills = sim_count(w, v, 0))},
  {"sim-kill-window", "", "DURATION", "the random kills fall in [0, DURATION) (1s)",
   MANTA_SIM(o.kill_window = parse_sim_duration(w, v))},
  {"sim-partitions", "", "N", "random partitions drawn from the seed",
   MANTA_SIM(o.random_partitions = sim_count(w, v, 0))},
  {"sim-slowdowns", "", "N", "random slow spells drawn from the seed",
   MANTA_SIM(o.random_slowdowns = sim_count(w, v, 0))},
  {"sim-fault-window", "", "DURATION", "random partitions and slow spells fall in it (1s)",
   MANTA_SIM(o.fault_window = parse_sim_duration(w, v))},
  {"sim-resources", "", "NODE=NAME:N,...;...",
   "custom resources of virtual nodes (1=GPU:1;2=disk:2)",
   MANTA_SIM(o.node_resources = parse_sim_resources(w, v))},
  {"sim-bandwidth", "", "BYTES_PER_S", "bytes per second between virtual nodes (0: unlimited)",
   MANTA_SIM(o.bandwidth = parse_sim_rate(w, v))},
  {"sim-cost", "", "zero|declared|measured", "the default cost model of a run (declared)",
   MANTA_SIM(o.cost = parse_sim_cost(w, v))},
  {"sim-trace", "", "FILE", "write every simulated event to FILE",
   MANTA_SIM(o.trace_file = std::string{v})},
  {"sim-schedule", "", "FILE", "a JSON schedule of the simulation and its faults",
   MANTA_SIM(o.schedule_file = std::string{v})},
};

#undef MANTA_SIM
#undef MANTA_SET

} // namespace

std::span<const init_flag> init_flags() noexcept {
  return flags;
}

const init_flag* find_init_flag(std::string_view name) noexcept {
  for (auto& f : flags)
    if (f.name == name)
      return &f;
  return nullptr;
}

void read_init_env(init_options& opts) {
  for (auto& f : flags) {
    if (f.env.empty() || f.name == "config" || f.set == nullptr)
      continue;
    auto* env = std::getenv(std::string{f.env}.c_str());
    if (env != nullptr && (*env != '\0' || f.env_empty_sets))
      f.set(opts, std::string{f.env}, env, true);
  }
}

std::string init_flags_hint() {
  std::string out = "Manta's options are";
  for (auto& f : flags)
    out += " --" + std::string{f.name} + "=...";
  return out
         + ", and for cluster processes --manta-worker, --manta-head, --manta-port=P "
           "and --manta-address-file=PATH (see docs/cluster.md)";
}

} // namespace manta::detail
