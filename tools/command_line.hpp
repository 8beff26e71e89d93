#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// A `manta` verb's arguments read against its flags (command_help.hpp's
/// table) with Boost.Program_options, as `init` reads its options
/// (core/flag_reader.hpp): `--NAME=VALUE` or `--NAME VALUE`, `-o FILE`,
/// switches alone, the verb's own arguments, and a program after `--`.
namespace manta::tools {

/// What a verb was given.
struct command_args {
  /// The flags given, by name without "--" ("address", "follow" for `-f`),
  /// in order; a switch's value is "".
  std::vector<std::pair<std::string, std::string>> flags;
  /// The verb's own arguments (`list tasks`: "tasks").
  std::vector<std::string> arguments;
  /// What follows `--` (a verb that takes a program).
  std::vector<std::string> program;
  /// Why the arguments are bad, naming the flag, with a hint (a flag it
  /// may have meant, where the help is); to print after "manta VERB: ".
  std::string error;

  /// Whether the flag `name` was given.
  bool has(std::string_view name) const;
  /// Its value, the last given; `fallback` if not given.
  std::string value(std::string_view name, std::string fallback = {}) const;
  /// Every value it was given, in order (a repeatable flag: --filter).
  std::vector<std::string> values(std::string_view name) const;
};

/// Reads `argv[1..argc)`, the arguments of `verb` (a verb of
/// command_help.hpp). Bad usage (an unknown flag, a flag without its value
/// or a switch with one, an argument too many, a program the verb does not
/// take) leaves `error` set.
command_args parse_command(std::string_view verb, int argc, char** argv);

} // namespace manta::tools
