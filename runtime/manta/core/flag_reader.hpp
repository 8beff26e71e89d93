#pragma once

#include <boost/program_options/errors.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>

#include <string>
#include <vector>

/// The one way Manta reads flags, through Boost.Program_options: `init`'s
/// options (init.cpp, declared in init_flags.cpp) and the `manta` command's
/// verbs (tools/command_line.cpp, declared in tools/command_help.cpp).
/// Included only where flags are read: it pulls in Program_options.
namespace manta::detail {

/// Reads `args` (without the program's name, and without a `--`: what
/// follows it is a program's, which the caller keeps apart) against
/// `options`, in order. A flag takes `--NAME=VALUE` or `--NAME VALUE`
/// (`--NAME=` gives the empty text, which Program_options alone refuses), a
/// short one `-X VALUE` or `-XVALUE`; a prefix of a name is never taken for
/// it. An option whose value is optional (`optional`, by name: `--node`
/// alone or `--node=NAME`) takes only the `=` form, so the next argument is
/// never its value. An argument that is no option of `options` comes back
/// `unregistered` for the caller to judge (a program's own flags, or a
/// typo). Throws `boost::program_options::error` (see `flag_error_text`).
boost::program_options::parsed_options
read_flags(const boost::program_options::options_description& options,
           const std::vector<std::string>& args, const std::vector<std::string>& optional = {});

/// A Program_options error as a sentence that names the flag: "--num-cpus
/// needs a value", "--head takes no value", or Program_options' own words.
std::string flag_error_text(const boost::program_options::error& e);

} // namespace manta::detail
