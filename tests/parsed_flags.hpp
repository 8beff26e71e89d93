#pragma once

// Helpers of the tests of init's command line (bad_input_test,
// init_flags_test).

#include <manta/cluster.hpp>
#include <manta/errors.hpp>

#include <string>
#include <vector>

namespace manta_test {

/// Parses a command line given as strings (after a program name).
inline manta::detail::command_line parse(std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return manta::detail::parse_command_line(static_cast<int>(argv.size()), argv.data());
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
