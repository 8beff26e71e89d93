#pragma once

// Runs a shell command from a doctest case (the `manta` tool, setpriv) and
// hands back what it said, or checks it.

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <utility>

namespace manta_test {

inline bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

/// The `manta` tool meson test names in the environment variable `var`;
/// requires that it does.
inline std::string manta_tool(const char* var = "MANTA_EXE") {
  auto* path = std::getenv(var);
  REQUIRE(path != nullptr);
  return path;
}

/// Runs `cmd` with sh; its exit status (-1 on a signal) and its output,
/// stdout and stderr together.
inline std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 512> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// A command's exit status (-1 on a signal) and its output, by name.
struct command_result {
  int status = -1;
  std::string output;
};

/// `run`'s answer, by name.
inline command_result run_command(const std::string& cmd) {
  auto [status, output] = run(cmd);
  return {status, output};
}

/// Checks a command's answer (its exit status and output, as `run` gives
/// them): status `rc`, and `says` somewhere in the output.
inline void check_answer(const std::pair<int, std::string>& answer, int rc,
                         const std::string& says) {
  INFO("expected exit status " << rc << " and \"" << says << "\"; the command said:\n"
                               << answer.second);
  CHECK(answer.first == rc);
  CHECK(answer.second.find(says) != std::string::npos);
}

} // namespace manta_test
