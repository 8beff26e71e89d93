#pragma once

// How many of a workload's tasks failed: the suites of `manta logs` and
// `manta summary` (one node and a cluster) run a workload with a known
// number of failures before they read what the commands say of it.

#include <manta/manta.hpp>

#include <chrono>
#include <exception>
#include <vector>

namespace manta_test {

/// Reads every ref of `refs`, each within `limit`: how many gets threw.
template <class T>
int failed_count(const std::vector<manta::object_ref<T>>& refs, std::chrono::seconds limit) {
  int failed = 0;
  for (auto& r : refs) {
    try {
      manta::get(r, limit);
    } catch (const std::exception&) {
      ++failed;
    }
  }
  return failed;
}

} // namespace manta_test
