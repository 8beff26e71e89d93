#pragma once

#include "manta/cluster.hpp"
#include "manta/init.hpp"
#include "manta/simulation.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/// Manta's options, each declared once: its name (the flag `--NAME=VALUE`
/// and the config file key `NAME = VALUE`), its environment variable, its
/// help text and how its text sets `init_options`. `parse_command_line`
/// (init.cpp) reads the environment, the config file and the command line
/// (through Boost.Program_options) from this one table, and the `manta`
/// command lists it in its help. A new option is one row in init_flags.cpp.
/// The simulation's options (`--simulate`, `--seed`, `--sim-*`) are rows
/// too: they set `simulation_options` rather than `init_options`, and only
/// once the whole command line is read (`sim_request`), over the schedule
/// file's settings.
namespace manta::detail {

/// One of Manta's options.
struct init_flag {
  /// The flag's name without "--": "num-cpus".
  std::string_view name;
  /// Its environment variable ("MANTA_NUM_CPUS"), or empty for none.
  std::string_view env;
  /// The value's form, for help: "N", "BYTES", "HOST:PORT".
  std::string_view value;
  /// What it does, one line.
  std::string_view help;
  /// Sets the option from `text`; `where` names it in errors ("--num-cpus",
  /// "MANTA_NUM_CPUS" or "FILE:LINE: num-cpus"), which show the value
  /// unless `show` is false (it came from a config file).
  void (*set)(init_options& opts, const std::string& where, std::string_view text, bool show);
  /// Whether an empty environment variable sets it (the TLS files: empty
  /// turns them off); the others take an empty variable as unset.
  bool env_empty_sets = false;
  /// For a simulation's option (then `set` is null): sets it from `text`,
  /// `where` naming it in errors.
  void (*set_sim)(simulation_options& sim, const std::string& where,
                  std::string_view text) = nullptr;
};

/// The simulation the flags and the config file ask for, collected as they
/// are read and resolved at the end: `--simulate` (or `--simulate=on|off`)
/// or any `--sim-*` option asks for one; `--seed` alone does not, so that a
/// program's own `--seed` neither turns one on nor is checked.
struct sim_request {
  /// One simulation option as given, in order (the config file's first).
  struct setting {
    const init_flag* flag;
    std::string where;
    std::string text;
  };
  std::optional<bool> simulate;
  bool any_sim_option = false;
  std::vector<setting> settings;

  /// Notes option `f` (one with `set_sim`) given as `text`.
  void add(const init_flag& f, std::string where, std::string_view text);

  /// The simulation asked for, or nullopt: the schedule file's settings
  /// (`--sim-schedule`), then every option over them, so options win.
  /// Throws `invalid_argument_error` naming a bad option or file key.
  std::optional<simulation_options> resolve() const;
};

/// Reads the command line (and the environment and the config file) as
/// `parse_command_line` does, also collecting the simulation's options
/// into `sim` (init.cpp).
command_line parse_command_line(int argc, char** argv, sim_request& sim);

/// Every option, in the order help lists them.
std::span<const init_flag> init_flags() noexcept;

/// The option named `name` ("num-cpus"), or null.
const init_flag* find_init_flag(std::string_view name) noexcept;

/// Sets the options whose environment variables are set, in table order.
void read_init_env(init_options& opts);

/// Lists the options, for errors about unknown ones: "Manta's options are
/// --num-cpus=... ...".
std::string init_flags_hint();

} // namespace manta::detail
