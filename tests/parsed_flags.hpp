#pragma once

// Helpers of the tests of init's command line (bad_input_test,
// init_flags_test, sim_placement_test).

#include <manta/cluster.hpp>
#include <manta/core/init_flags.hpp>
#include <manta/errors.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace manta_test {

/// Parses a command line given as strings (after a program name), passing
/// the rest of `more` to `parse_command_line` after argc and argv.
template <class... More>
manta::detail::command_line parse_with(std::vector<std::string> args, More&... more) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return manta::detail::parse_command_line(static_cast<int>(argv.size()), argv.data(), more...);
}

/// Parses a command line given as strings (after a program name).
inline manta::detail::command_line parse(std::vector<std::string> args) {
  return parse_with(std::move(args));
}

/// The simulation a command line asks for (init_flags.hpp: sim_request).
inline std::optional<manta::simulation_options> sim_of(std::vector<std::string> args) {
  manta::detail::sim_request sim;
  parse_with(std::move(args), sim);
  return sim.resolve();
}

/// The message of the invalid_argument_error `f` throws, or "" if it
/// throws nothing (another exception goes on: a test of bad input fails).
template <class F>
std::string thrown(F f) {
  try {
    f();
  } catch (const manta::invalid_argument_error& e) {
    return e.what();
  }
  return {};
}

} // namespace manta_test
