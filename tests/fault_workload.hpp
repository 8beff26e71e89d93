#pragma once

// The workload of the fault-injection tests (fault_injection_test kills
// nodes, connection_faults_test cuts and delays their connections): tasks
// that log each run to a file shared by every process, a stateless actor,
// and readers of that log.

#include "tests/cluster_checks.hpp"

#include <manta/manta.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <sys/types.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

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

/// The re-runs a run log shows: the fault tests bound both, since a fault
/// may make a task run again, but only a task it hit, and never more often
/// than its retries allow.
struct rerun_counts {
  /// Runs beyond each task's first, over all tasks.
  int64_t extra = 0;
  /// The most runs of one task.
  int most = 0;
};

/// Counts the re-runs in `runs` (task index -> runs, `runs_of(log).first`).
inline rerun_counts reruns_in(const std::map<int64_t, int>& runs) {
  rerun_counts out;
  for (auto& [i, k] : runs) {
    out.extra += k - 1;
    out.most = std::max(out.most, k);
  }
  return out;
}

/// `count` tally actors (seeds 0, 1, ...), on the nodes of `workers` (the
/// cluster's worker processes, all known to the driver) in turn (soft
/// affinity: a restart may go elsewhere), restarted and retried without
/// limit.
inline std::vector<manta::actor_handle<tally>> spread_tallies(int count,
                                                              const std::vector<pid_t>& workers) {
  auto node_of = worker_nodes(workers.size());
  REQUIRE(node_of.size() == workers.size());
  std::vector<manta::actor_handle<tally>> actors;
  for (int a = 0; a < count; ++a)
    actors.push_back(
      manta::actor<tally>()
        .node_affinity(node_of[workers[static_cast<size_t>(a) % workers.size()]], true)
        .max_restarts(-1)
        .max_task_retries(-1)
        .remote(int64_t{a}));
  return actors;
}

/// What `submit_workload` submitted.
struct spread_workload {
  /// `work(i)` for i = 0, 1, ..., n - 1.
  std::vector<manta::object_ref<int64_t>> refs;
  /// Call k: (seed, `step(5k)` on the actor of that seed).
  std::vector<std::pair<int, manta::object_ref<int64_t>>> calls;
};

/// Submits `work(i)` for i < `n` (each with `max_retries`, logging to
/// `log`) and, interleaved with them, for every fifth a call of `step(i)`
/// on the next of `actors` in turn.
inline spread_workload submit_workload(int n, int max_retries, const std::string& log,
                                       const std::vector<manta::actor_handle<tally>>& actors) {
  spread_workload w;
  w.refs.reserve(static_cast<size_t>(n));
  auto num_actors = static_cast<int64_t>(actors.size());
  for (int64_t i = 0; i < n; ++i) {
    w.refs.push_back(manta::task(work).max_retries(max_retries).remote(i, log));
    if (i % 5 == 0) {
      auto a = static_cast<int>((i / 5) % num_actors);
      w.calls.emplace_back(a, actors[static_cast<size_t>(a)].call(&tally::step).remote(i));
    }
  }
  return w;
}

/// Reads `refs`, the results of `work(i)` for i = 0, 1, ..., each with a
/// 30 s deadline: how many are wrong. `longest_get` grows to the longest
/// read, in seconds.
inline int64_t wrong_work_results(const std::vector<manta::object_ref<int64_t>>& refs,
                                  double& longest_get) {
  int64_t wrong = 0;
  for (size_t k = 0; k < refs.size(); ++k) {
    auto i = static_cast<int64_t>(k);
    auto t0 = steady::now();
    auto v = manta::get(refs[k], std::chrono::seconds(30));
    longest_get = std::max(longest_get, std::chrono::duration<double>(steady::now() - t0).count());
    if (v != i * i + 7)
      ++wrong;
  }
  return wrong;
}

/// Reads `calls`: call k is (seed, the result of `step(k * every)` on a
/// `tally` made with that seed), each with a 30 s deadline: how many are
/// wrong. A `longest_get` given grows to the longest read, in seconds.
inline int64_t
wrong_step_results(const std::vector<std::pair<int, manta::object_ref<int64_t>>>& calls,
                   int64_t every, double* longest_get = nullptr) {
  int64_t wrong = 0;
  for (size_t k = 0; k < calls.size(); ++k) {
    auto& [a, ref] = calls[k];
    auto i = static_cast<int64_t>(k) * every;
    auto t0 = steady::now();
    if (manta::get(ref, std::chrono::seconds(30)) != int64_t{a} * 1000003 + i * i)
      ++wrong;
    if (longest_get != nullptr)
      *longest_get = std::max(*longest_get,
                              std::chrono::duration<double>(steady::now() - t0).count());
  }
  return wrong;
}

inline size_t lines_in(const std::string& path) {
  std::ifstream in{path};
  return static_cast<size_t>(
    std::count(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}, '\n'));
}

/// A fault and when it strikes: once this share (percent) of a workload's
/// tasks have logged their runs.
using timed_fault = std::pair<int, std::function<void()>>;

/// Runs `faults` in order, each once the run log `log` holds its share of
/// `n` lines, and returns the lines the log held as each ran: fewer than
/// `faults` if `deadline` passed first (the caller checks the count), so a
/// workload that stalls fails the test instead of hanging it.
inline std::vector<size_t> strike_at_shares(const std::string& log, int n,
                                            const std::vector<timed_fault>& faults,
                                            steady::time_point deadline) {
  std::vector<size_t> ran_at;
  while (ran_at.size() < faults.size() && steady::now() < deadline) {
    const auto& [share, fault] = faults[ran_at.size()];
    if (lines_in(log) >= static_cast<size_t>(n) * static_cast<size_t>(share) / 100) {
      fault();
      ran_at.push_back(lines_in(log));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  return ran_at;
}

inline int env_int(const char* name, int fallback) {
  auto v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

} // namespace manta_test
