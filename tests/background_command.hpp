#pragma once

// The `manta` binary ($MANTA_BIN) run in the background by a test (`manta
// logs --follow`), its output in files the test waits on with a deadline.

#include "tests/shell_command.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace manta_test {

using namespace std::chrono_literals;

inline std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Waits until `path` holds `what`, at most `deadline`.
inline bool file_shows(const std::string& path, const std::string& what,
                       std::chrono::milliseconds deadline = 10s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (contains(read_file(path), what))
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

/// `manta ARGS` started in the background, stdout and stderr to files.
struct background_manta {
  background_manta(const std::vector<std::string>& args, const std::string& dir) {
    out = dir + "/stdout";
    err = dir + "/stderr";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv;
    std::string bin = std::getenv("MANTA_BIN");
    argv.push_back(bin.data());
    auto copy = args;
    for (auto& a : copy)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  ~background_manta() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  /// Its exit status once it exits within `deadline`; -1 if it did not.
  int exit_within(std::chrono::milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  pid_t pid = -1;
  std::string out, err;
};

struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/manta-logs-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { [[maybe_unused]] int rc = std::system(("rm -rf " + path).c_str()); }
  std::string path;
};

} // namespace manta_test
