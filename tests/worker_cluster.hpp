#pragma once

// A local cluster of `n` worker processes that a test case addresses by
// index, and asks what each worker's store holds: the setup of the tests
// of refs inside values (nested_refs_test, generator_refs_test) and of
// scheduling across workers (cluster_scheduling_test).

#include "tests/cluster_helpers.hpp"
#include "tests/store_listing.hpp"

#include <manta/manta.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <sys/types.h>
#include <vector>

namespace manta_test {

struct worker_cluster {
  /// Starts `n` workers of `worker_cpus` CPUs, then joins as the driver with
  /// `driver_cpus`; requires that the driver knows each worker's node.
  worker_cluster(size_t n, double worker_cpus, double driver_cpus) {
    for (size_t k = 0; k < n; ++k)
      pids.push_back(c.add_worker(worker_cpus));
    c.join(driver_cpus);
    nodes = worker_nodes(n);
    REQUIRE(nodes.size() == n);
    for (auto pid : pids)
      REQUIRE(nodes.count(pid) == 1);
  }

  /// Worker `k`'s node.
  manta::node_id node(size_t k) { return nodes.at(pids.at(k)); }

  /// Whether worker `k`'s store lists object `id`.
  bool holds(size_t k, uint64_t id) { return held_on(node(k), id); }

  manta::local_cluster c;
  /// The workers' processes, in the order they started.
  std::vector<pid_t> pids;
  /// Each worker process's node.
  std::map<int, manta::node_id> nodes;
};

} // namespace manta_test
