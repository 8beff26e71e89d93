#pragma once

// Helpers of the multi-process tests that check as they go (doctest
// REQUIREs): the setup steps every such case would otherwise repeat.

#include "tests/cluster_helpers.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

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

/// A local cluster of this driver, without CPUs, and two worker processes of
/// one CPU each, joined, with each worker's node: the setup of the cases that
/// place work on one worker and look at it from the other. A case names the
/// parts for its roles: `auto& [c, maker, reader, node_of] = cluster;`.
struct two_worker_cluster {
  two_worker_cluster() : first(c.add_worker(1)), second(c.add_worker(1)) {
    c.join(0);
    node_of = worker_nodes(2);
    REQUIRE(node_of.size() == 2);
  }

  manta::local_cluster c;
  /// The workers' processes, in the order they started.
  pid_t first;
  pid_t second;
  /// Each worker process's node.
  std::map<int, manta::node_id> node_of;
};

/// A local cluster on plain TCP (--transport=plain, where Manta's token is
/// what stops a stranger) of this driver, without CPUs, and one worker of
/// one CPU that logs to `worker_log`: the setup of the cases in which a
/// process outside the cluster talks to its nodes.
struct plain_worker_cluster {
  plain_worker_cluster() : c(plain()), worker_log(c.dir() + "/worker.log") {
    c.add_worker(1, "", {}, worker_log);
    c.join(0);
    worker = only_worker_address();
    REQUIRE(!worker.empty());
  }

  static manta::tls_options plain() {
    manta::tls_options out;
    out.plain = true;
    return out;
  }

  manta::local_cluster c;
  std::string worker_log;
  /// The worker's "HOST:PORT".
  std::string worker;
};

/// The node of the cluster's only worker, whichever process it is;
/// requires that the driver knows one worker and no more.
inline manta::node_id sole_worker_node() {
  auto nodes = worker_nodes(1);
  REQUIRE(nodes.size() == 1);
  return nodes.begin()->second;
}

} // namespace manta_test
