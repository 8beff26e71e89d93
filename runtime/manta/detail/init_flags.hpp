#pragma once

#include "manta/init.hpp"

#include <span>
#include <string>
#include <string_view>

/// Manta's options, each declared once: its name (the flag `--NAME=VALUE`
/// and the config file key `NAME = VALUE`), its environment variable, its
/// help text and how its text sets `init_options`. `parse_command_line`
/// (init.cpp) reads the environment, the config file and the command line
/// (through Boost.Program_options) from this one table, and the `manta`
/// command lists it in its help. A new option is one row in init_flags.cpp.
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
};

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
