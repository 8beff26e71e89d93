#pragma once

// Runs a program of the simulation's tests as a child process and collects
// its output and trace hash (sim_replay_test.cpp).

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>

struct child_run {
  int rc = -1;
  std::string out;
  std::string hash;
};

/// Runs tests/sim_app with `args` and collects its output (stdout and
/// stderr) and the trace hash of its summary line. The program is bounded
/// (a few hundred events), so reading to its end is the wait; `timeout`
/// bounds it anyway.
inline child_run run_app(const std::string& args, const char* program = "MANTA_SIM_APP") {
  const char* app = std::getenv(program);
  REQUIRE_MESSAGE(app != nullptr, program << " is not set (meson test sets it)");
  child_run r;
  auto cmd = "timeout 120 " + std::string{app} + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto at = r.out.find("trace_hash=");
  if (at != std::string::npos)
    r.hash = r.out.substr(at + 11, 16);
  return r;
}
