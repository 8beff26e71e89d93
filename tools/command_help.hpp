#pragma once

#include <string>
#include <string_view>

namespace manta::tools {

/// The exit codes of every `manta` verb (also in `manta --help` and the
/// README): 0 done, 1 the command ran and failed (a node unreachable, a
/// daemon that did not come up, a refused file), 2 bad usage (an unknown
/// verb or option, a bad value; nothing was done).
enum exit_code : int { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

/// `manta --help`: every verb in a line, the global flags and the exit codes.
std::string overview_help();

/// `manta VERB --help`: the verb's synopsis, its options and examples; ""
/// for a verb that does not exist.
std::string verb_help(std::string_view verb);

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

/// Prints "manta VERB: unknown option 'ARG'", the hint and where the help
/// is to stderr; returns `exit_usage`.
int unknown_option(std::string_view verb, std::string_view arg, int argc = 0,
                   char** argv = nullptr);

} // namespace manta::tools
