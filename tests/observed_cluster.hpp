#pragma once

// A cluster to observe from its head's dashboard (tests/cluster_dashboard_test.cpp,
// tests/observed_cluster.cpp for the browser test): joined as a driver, it
// leaves a task running on the worker, a named actor on the worker and an
// object the driver owns, until `release()`.

#include "tests/cluster_helpers.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace manta_test {

/// Runs until the file `release` exists (the driver and the worker are
/// different processes), after creating `started`.
inline int held_step(std::string started, std::string release, int x) {
  std::ofstream{started} << "started\n";
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::ifstream{release} && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return x;
}

MANTA_REMOTE(held_step);

class keeper {
public:
  int store(int x) {
    std::cout << "keeper stored " << x << std::endl; // its detail page's log line
    return total_ += x;
  }

private:
  int total_ = 0;
};

MANTA_ACTOR(keeper, &keeper::store);

/// What the observers look for, started on `c`'s only worker by this
/// process, which must have joined `c`.
class observed_workload {
public:
  explicit observed_workload(const manta::local_cluster& c)
    : started_(c.dir() + "/held.started"), release_(c.dir() + "/held.release") {
    auto nodes = worker_nodes(1);
    if (nodes.size() != 1)
      throw manta::error("observed_workload: no worker answered");
    auto [pid, node] = *nodes.begin();
    node_ = node;
    worker_ = "node-" + std::to_string(node) + " (pid " + std::to_string(pid) + ")";
    keeper_ = manta::actor<keeper>().name("keeper").node_affinity(node).remote();
    manta::get(keeper_.call(&keeper::store).remote(5), std::chrono::seconds(10));
    object_ = manta::put(std::vector<double>(1 << 16, 1.5));
    held_ = manta::task(held_step).node_affinity(node).remote(started_, release_, 41);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::ifstream{started_}) { // RUNNING on the worker from here on
      if (std::chrono::steady_clock::now() > until)
        throw manta::error("observed_workload: the held task did not start in 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  /// Lets the held task end; returns its result (41).
  int release() {
    std::ofstream{release_} << "go\n";
    return manta::get(held_, std::chrono::seconds(20));
  }

  /// The worker's name in the state API: "node-N (pid P)".
  const std::string& worker() const { return worker_; }
  manta::node_id worker_node() const { return node_; }
  manta::object_id held() const { return held_.id(); }
  manta::object_id object() const { return object_.id(); }

private:
  std::string started_, release_, worker_;
  manta::node_id node_ = 0;
  manta::actor_handle<keeper> keeper_;
  manta::object_ref<std::vector<double>> object_;
  manta::object_ref<int> held_;
};

} // namespace manta_test
