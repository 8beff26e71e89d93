#pragma once

// Runs a shell command from a doctest case (the `manta` tool, setpriv) and
// hands back what it said.

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>
#include <utility>

namespace manta_test {

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

} // namespace manta_test
