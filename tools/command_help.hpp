#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace manta::tools {

/// The exit codes of every `manta` verb (also in `manta --help` and the
/// README): 0 done, 1 the command ran and failed (a node unreachable, a
/// daemon that did not come up, a refused file), 2 bad usage (an unknown
/// verb or option, a bad value; nothing was done).
enum exit_code : int { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

/// One flag of a verb, declared once: the verb's parser reads it
/// (command_line.hpp), its help lists it and a misspelt flag is matched
/// against it.
struct command_flag {
  /// The name without "--": "address".
  std::string_view name{};
  /// The value's form for help ("HOST:PORT"); "" for a switch (`--head`);
  /// in brackets for an optional value (`--node` or `--node=NAME`: "[NAME]").
  std::string_view value{};
  /// What it does; '\n' continues on the next line of the help. "" takes
  /// the value's form and the help of init's option of the same name, with
  /// its environment variable (core/init_flags.hpp): the flags `manta
  /// start` hands to a node, which reads them as that option.
  std::string_view help{};
  /// A one-letter name ('o' for `-o FILE`), or 0.
  char short_name = 0;
  /// Read but not listed: `--token`, which is refused with the reason
  /// (--token-file's help says so).
  bool hidden = false;
};

/// A verb of the `manta` command: its flags and its help.
struct command_verb {
  std::string_view name{};
  /// One line for `manta --help`.
  std::string_view summary{};
  /// The "usage: manta NAME ..." lines and what it does; the help then
  /// lists the flags.
  std::string usage{};
  std::vector<command_flag> flags{};
  /// After the flags: examples.
  std::string_view examples{};
  /// How many arguments it takes besides its flags (-1: any; the verb
  /// checks them).
  int arguments = 0;
  /// Whether it takes a program after `--` (`manta start`, `job submit`,
  /// `sim`).
  bool program = false;
};

/// Every verb, in the order `manta --help` lists them.
const std::vector<command_verb>& command_verbs();

/// The verb named `name`, or null.
const command_verb* find_verb(std::string_view name);

/// `manta --help`: every verb in a line, the global flags and the exit codes.
std::string overview_help();

/// `manta VERB --help`: the verb's usage, its flags (from its table) and
/// examples; "" for a verb that does not exist.
std::string verb_help(std::string_view verb);

/// The verb's "usage: ..." lines (for errors of bad usage).
std::string verb_usage(std::string_view verb);

/// Whether a verb's arguments ask for its help (`--help` or `-h` before any
/// `--`, after which the arguments are a program's, not ours).
bool wants_help(int argc, char** argv);

/// `manta --version`: Manta's version and git revision, and the CAF, Cap'n
/// Proto and OpenSSL versions it was built with.
std::string version_text();

/// What to say after "unknown option ARG" of `verb`: the verb's flag ARG
/// was most likely meant to be, or, for `start`, that a program goes after
/// `--`; `argc`/`argv` are the verb's arguments (to write the corrected
/// command). Ends with a newline; "" when there is nothing to suggest.
std::string option_hint(std::string_view verb, std::string_view arg, int argc = 0,
                        char** argv = nullptr);

/// "unknown option 'ARG'" (or "unexpected argument"), the hint and where
/// the help is, without the "manta VERB: " the caller puts before it.
std::string unknown_option_text(std::string_view verb, std::string_view arg, int argc = 0,
                                char** argv = nullptr);

/// Prints "manta VERB: TEXT" to stderr; returns `exit_usage`.
int usage_error(std::string_view verb, const std::string& text);

} // namespace manta::tools
