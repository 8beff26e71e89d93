#pragma once

// The workload of the fault-injection tests (fault_injection_test kills
// nodes, connection_faults_test cuts and delays their connections): tasks
// that log each run to a file shared by every process, a stateless actor,
// and readers of that log.

#include <manta/manta.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>

namespace manta_test {

using steady = std::chrono::steady_clock;

/// Appends "i pid" to `log` (one line per run, appended atomically by every
/// process to the same file).
inline void log_run(int64_t i, const std::string& log) {
  auto line = std::to_string(i) + " " + std::to_string(::getpid()) + "\n";
  int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    ::close(fd);
  }
}

/// Records that it ran, spins a little, and returns a function of `i`.
inline int64_t work(int64_t i, const std::string& log) {
  log_run(i, log);
  auto until = steady::now() + std::chrono::microseconds(100);
  while (steady::now() < until) {
  }
  return i * i + 7;
}

/// Records that it ran, sleeps `ms`, and returns what `work` does.
inline int64_t slow_work(int64_t i, int64_t ms, const std::string& log) {
  log_run(i, log);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return i * i + 7;
}

inline int64_t sleepy(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

MANTA_REMOTE(work, slow_work, sleepy);

/// A stateless actor: its results depend only on its constructor argument
/// (re-run after a restart) and the call's argument.
class tally {
public:
  explicit tally(int64_t seed) : seed_(seed) {}

  int64_t step(int64_t i) {
    auto until = steady::now() + std::chrono::microseconds(100);
    while (steady::now() < until) {
    }
    return seed_ * 1000003 + i * i;
  }

  int restarts() const { return manta::restart_count(); }

private:
  int64_t seed_;
};

MANTA_ACTOR(tally, &tally::step, &tally::restarts);

/// How many times each task index ran, and how many tasks each process
/// ran, from the log.
inline std::pair<std::map<int64_t, int>, std::map<int64_t, int>> runs_of(const std::string& log) {
  std::pair<std::map<int64_t, int>, std::map<int64_t, int>> out;
  std::ifstream in{log};
  int64_t i = 0;
  int64_t pid = 0;
  while (in >> i >> pid) {
    ++out.first[i];
    ++out.second[pid];
  }
  return out;
}

inline size_t lines_in(const std::string& path) {
  std::ifstream in{path};
  return static_cast<size_t>(
    std::count(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}, '\n'));
}

inline int env_int(const char* name, int fallback) {
  auto v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

} // namespace manta_test
