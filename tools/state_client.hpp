#pragma once

// What the commands that read a node's dashboard share (`manta list`,
// `status --dashboard`, `memory`, `timeline`, `why`, `logs`, `summary`):
// their common options, where the dashboard is, fetching with errors that
// say what to do, and printing rows as a table.

#include "tools/command_line.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace manta::tools {

/// What every state command parses from its arguments.
struct state_options {
  /// The verb ("list"), for errors.
  std::string verb;
  std::string address;
  std::vector<std::string> positional;
  std::vector<std::string> filters;
  std::string format = "table";
  std::string output;
  std::string limit;
  std::string token;
  /// Every flag given, the common ones above too (command_line.hpp).
  command_args args;
  std::string error;
};

/// Parses the verb's flags (its table in command_help.cpp: the common
/// --address/--dashboard, --token, and --filter, --format, --limit,
/// -o/--output where it takes them, and its own in `args`). Without
/// --address: MANTA_DASHBOARD, else the dashboard the latest node started
/// here recorded. `error` says what was wrong. `argv[0]` is the verb.
state_options parse_state_options(int argc, char** argv);

/// Percent-encodes all but unreserved characters (names like "c 1").
std::string url_encode(const std::string& s);

/// GETs `target` from the dashboard; on failure prints why (and a hint:
/// the token, whether a node runs there) and returns nullopt.
std::optional<std::string> fetch_state(const state_options& o, const std::string& target);

/// Prints `o.error` and the verb's usage; returns the exit code of bad
/// usage (2).
int state_usage_error(const state_options& o);

/// A JSON value as a cell: strings as they are, objects as "k:v,k:v".
std::string text_of(const boost::json::value& v);

/// A byte count in human units ("12.3 MiB"); --format=json keeps the number.
std::string bytes_text(const boost::json::value& v);

/// A column of a table: its header and how a row gives its cell.
using column = std::pair<const char*, std::string (*)(const boost::json::object&)>;

/// Prints `rows` as a table with `cols`, cells cut at 60 characters, and a
/// "-- N row(s)" footer.
void print_table(const boost::json::array& rows, const std::vector<column>& cols);

} // namespace manta::tools
