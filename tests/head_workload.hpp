#pragma once

// The workload of the head's fault tests (head_faults_test cuts and kills
// the head; head_store_cluster_test replaces it from its store) and of
// connection_faults_test's hung connection: tasks
// logging each run (fault_workload.hpp) and calls of one actor, with the
// checks of what came back and how often each task ran.

#include "tests/cluster_helpers.hpp"
#include "tests/fault_workload.hpp"

#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace manta_test {

/// Waits (up to `limit`) until `log` holds `text` `times` times.
inline bool wait_for_line(const std::string& log, const std::string& text, size_t times,
                          std::chrono::seconds limit) {
  auto until = steady::now() + limit;
  while (steady::now() < until) {
    auto all = read_all(log);
    size_t seen = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1))
      ++seen;
    if (seen >= times)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

/// Submits the workload of fault_workload.hpp: `n` tasks logging to `log`,
/// and a call every 10th task of an actor made with `seed`, placed softly
/// on `node` and restarted (its calls retried) as often as needed.
struct workload {
  int64_t seed;
  std::string log;
  manta::actor_handle<tally> actor;
  std::vector<manta::object_ref<int64_t>> tasks, calls;

  workload(int n, std::string log_file, manta::node_id node, int64_t seed_, int max_retries)
    : seed(seed_), log(std::move(log_file)), actor(manta::actor<tally>()
                                                     .node_affinity(node, true)
                                                     .max_restarts(-1)
                                                     .max_task_retries(-1)
                                                     .remote(seed)) {
    for (int64_t i = 0; i < n; ++i) {
      tasks.push_back(manta::task(work).max_retries(max_retries).remote(i, log));
      if (i % 10 == 0)
        calls.push_back(actor.call(&tally::step).remote(i));
    }
  }

  /// Waits until a fifth of the tasks ran; returns how many had.
  size_t wait_for_a_fifth() const {
    while (lines_in(log) < tasks.size() / 5)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return lines_in(log);
  }

  /// Wrong results (0 expected), each read with a timeout.
  int64_t wrong() {
    int64_t out = 0;
    for (size_t i = 0; i < tasks.size(); ++i) {
      auto x = static_cast<int64_t>(i);
      out += manta::get(tasks[i], std::chrono::seconds(30)) != x * x + 7;
    }
    for (size_t k = 0; k < calls.size(); ++k) {
      auto x = static_cast<int64_t>(k) * 10;
      out += manta::get(calls[k], std::chrono::seconds(30)) != seed * 1000003 + x * x;
    }
    return out;
  }
};

/// Every task of `n` ran, none more than `most` times; returns the re-runs.
inline int64_t check_runs(const std::string& log, int n, int most) {
  auto runs = runs_of(log).first;
  CHECK(runs.size() == static_cast<size_t>(n));
  auto counts = reruns_in(runs);
  CHECK(counts.most <= most);
  return counts.extra;
}

} // namespace manta_test
