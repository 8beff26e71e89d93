#include "manta/init.hpp"

#include "actors/atoms.hpp"
#include "manta/cluster.hpp"
#include "manta/actor/actor_defaults.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/cluster/code_loader.hpp"
#include "manta/core/flag_reader.hpp"
#include "manta/cluster/node_argv.hpp"
#include "manta/core/init_flags.hpp"
#include "manta/core/option_values.hpp"
#include "manta/core/runtime_dir.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/errors.hpp"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>
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

namespace po = boost::program_options;

using detail::find_init_flag;
using detail::init_flags_hint;
using detail::parse_port;

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
void read_config_file(const std::string& path, init_options& opts, detail::sim_request& sim) {
  auto file = detail::read_checked_file(path, max_config_bytes, detail::file_rule::readable);
  if (!file.error.empty())
    throw invalid_argument_error("manta::init: the config file (given by --config or "
                                 "MANTA_CONFIG): "
                                 + file.error + "; give a regular file of at most 1 MiB");
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
      throw invalid_argument_error("manta::init: " + at
                                   + "expected 'key = value' (the "
                                     "line is not shown); "
                                   + init_flags_hint() + "; a config file takes them without --");
    auto key = trimmed(text.substr(0, eq));
    auto* flag = find_init_flag(key);
    if (flag == nullptr || key == "config")
      throw invalid_argument_error("manta::init: " + at + shown_key(key)
                                   + " (a typo, or an option of another Manta version?); "
                                   + init_flags_hint() + "; a config file takes them without --");
    if (!seen.insert(std::string{key}).second)
      throw invalid_argument_error("manta::init: " + at + "key '" + std::string{key}
                                   + "' is given twice");
    if (key == "token" && others_read)
      throw invalid_argument_error("manta::init: " + at
                                   + "a token in a file other users can "
                                     "read is no secret; `chmod 600 "
                                   + path + "`, or give token-file = FILE");
    auto value = trimmed(text.substr(eq + 1));
    if (flag->set_sim != nullptr)
      sim.add(*flag, at + std::string{key}, value);
    else
      flag->set(opts, at + std::string{key}, value, /*show=*/false);
  }
}

/// Manta's flags for Boost.Program_options: every option of the table
/// (init_flags.hpp) and the cluster processes' own.
po::options_description flag_descriptions() {
  po::options_description out;
  auto add = out.add_options();
  for (auto& f : detail::init_flags()) {
    auto* value = po::value<std::string>();
    if (f.name == "trusted-network")
      value->implicit_value("on");
    add(std::string{f.name}.c_str(), value, std::string{f.help}.c_str());
  }
  add("manta-worker", "run as a worker node (added by `manta start`)");
  add("manta-head", "run as the head node");
  add("manta-port", po::value<std::string>(), "the port a head or worker listens on");
  add("manta-address-file", po::value<std::string>(), "where a node writes its address");
  return out;
}

/// The command line's options in order. A program's own arguments are
/// passed over (its flags, a `--` and what follows it: `manta start` appends
/// Manta's flags after the program's arguments). Manta's flags are read as
/// the `manta` command's are (flag_reader.hpp).
po::parsed_options parse_flags(int argc, char** argv) {
  static const auto descriptions = flag_descriptions();
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
    if (std::string_view{argv[i]} != "--")
      args.emplace_back(argv[i]);
  try {
    // `--simulate` alone is on; `--seed` takes only `--seed=N`, so that a
    // program's own `--seed` switch never takes the next argument.
    return detail::read_flags(descriptions, args, {"simulate", "seed"});
  } catch (const po::invalid_command_line_syntax& e) {
    if (e.kind() == po::invalid_syntax::missing_parameter)
      throw invalid_argument_error("manta::init: " + detail::flag_error_text(e));
    throw invalid_argument_error("manta::init: " + detail::flag_error_text(e) + "; "
                                 + init_flags_hint());
  } catch (const po::error& e) {
    throw invalid_argument_error("manta::init: " + detail::flag_error_text(e) + "; "
                                 + init_flags_hint());
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
  sim_request ignored; // a cluster process runs no simulation
  return parse_command_line(argc, argv, ignored);
}

/// The simulation's options, for the error about one that is not.
std::string sim_flags_hint() {
  std::string out;
  for (auto& f : init_flags())
    if (f.set_sim != nullptr)
      out += (out.empty() ? "" : ", ") + ("--" + std::string{f.name}) + "=" + std::string{f.value};
  return "the simulation's options are " + out + " (docs/simulation.md)";
}

command_line parse_command_line(int argc, char** argv, sim_request& sim) {
  command_line out;
  auto& opts = out.opts;
  read_init_env(opts);
  auto parsed = parse_flags(argc, argv);
  // The config file (--config=FILE or MANTA_CONFIG) sits between the
  // environment and the command line: flags override it.
  std::string config;
  if (auto env = std::getenv("MANTA_CONFIG"); env != nullptr && *env != '\0')
    config = env;
  for (auto& o : parsed.options)
    if (o.string_key == "config")
      config = o.value.front();
  if (!config.empty())
    read_config_file(config, opts, sim);
  for (auto& o : parsed.options) {
    const auto& name = o.string_key;
    if (o.unregistered) {
      // Another program's flags are its own, but not one of ours misspelt.
      auto& arg = o.original_tokens.front();
      if (arg.rfind("--manta-", 0) == 0)
        throw invalid_argument_error("manta::init: unknown option '" + arg + "'; "
                                     + init_flags_hint());
      if (arg.rfind("--sim-", 0) == 0)
        throw invalid_argument_error("manta sim: " + arg + ": unknown simulation flag; "
                                     + sim_flags_hint());
      continue;
    }
    if (name.empty() || name == "config") // a positional argument; read above
      continue;
    auto flag = "--" + name;
    if (name == "manta-worker")
      out.worker = true;
    else if (name == "manta-head")
      out.head = true;
    else if (name == "manta-port")
      out.port = parse_port(flag, o.value.front());
    else if (name == "manta-address-file")
      out.address_file = o.value.front();
    else if (name == "token")
      throw invalid_argument_error(
        "manta::init: --token is refused on a command line: every user of this "
        "machine can read a command line (ps, /proc/PID/cmdline); give the token in a "
        "file only you can read with --token-file=FILE (mode 0600), or in the "
        "environment variable MANTA_TOKEN");
    else if (name == "trusted-network" && o.original_tokens.size() == 1
             && o.original_tokens.front() == flag)
      opts.trusted_network = true; // a switch: on when given alone
    else if (name == "trusted-network" && o.original_tokens.size() == 2)
      opts.trusted_network = true; // alone, before another program's argument
    else if (auto* f = find_init_flag(name); f->set_sim != nullptr)
      sim.add(*f, flag, o.value.front());
    else
      f->set(opts, flag, o.value.front(), true);
  }
  return out;
}

} // namespace detail

void init() {
  init(init_options{});
}

void init(int argc, char** argv) {
  detail::sim_request wanted;
  auto cl = detail::parse_command_line(argc, argv, wanted);
  if (cl.worker || cl.head)
    std::exit(cl.head ? head_main(argc, argv) : worker_main(argc, argv));
  if (auto sim = wanted.resolve()) { // --simulate, --seed=N, --sim-*
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
  self->request(rt.node_manager(), std::chrono::seconds(10), actors::resources_atom::value)
    .receive(
      [&](resource_map& free, resource_map& total) {
        out = {std::move(free), std::move(total)};
      },
      [&](caf::error& err) {
        throw error(std::string{"manta::"} + what
                    + ": the node manager did not answer: " + rt.system().render(err));
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
