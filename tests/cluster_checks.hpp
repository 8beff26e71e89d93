#pragma once

// Helpers of the multi-process tests that check as they go (doctest
// REQUIREs): the setup steps every such case would otherwise repeat.

#include "tests/cluster_helpers.hpp"

#include <doctest/doctest.h>

namespace manta_test {

/// The node of worker process `worker`, the cluster's only worker; requires
/// that the driver knows it as one.
inline manta::node_id only_worker_node(int worker) {
  auto nodes = worker_nodes(1);
  REQUIRE(nodes.count(worker) == 1);
  return nodes[worker];
}

/// A local cluster of this driver and one worker process, joined: the
/// setup of the cases that place work on "the worker" by its node.
struct one_worker_cluster {
  /// Starts the worker with `worker_cpus` CPUs, then joins as the driver
  /// with `driver_cpus` (0: every task goes to the worker).
  one_worker_cluster(double worker_cpus, double driver_cpus) : worker(c.add_worker(worker_cpus)) {
    c.join(driver_cpus);
    node = only_worker_node(worker);
  }

  manta::local_cluster c;
  /// The worker's process.
  pid_t worker;
  /// The worker's node.
  manta::node_id node = 0;
};

/// The node of the cluster's only worker, whichever process it is;
/// requires that the driver knows one worker and no more.
inline manta::node_id sole_worker_node() {
  auto nodes = worker_nodes(1);
  REQUIRE(nodes.size() == 1);
  return nodes.begin()->second;
}

} // namespace manta_test
