#pragma once

// The main of the suites on network namespaces (netns_test,
// netns_head_test): the node a cluster started this process as, else the
// doctest run, or meson's skip where the suite cannot run here.

#include "tests/cluster_main.hpp"
#include "tests/netns.hpp"

#include <manta/manta.hpp>

#include <cstdio>
#include <functional>
#include <string>

namespace manta_test {

/// Runs suite `suite`, or skips it (exit code 77, saying why) where
/// namespaces cannot be made or `also` gives a reason ("" for none).
inline int netns_test_main(int argc, char** argv, const char* suite,
                           const std::function<std::string()>& also = {}) {
  if (manta::is_cluster_process(argc, argv))
    return cluster_test_main(argc, argv);
  auto why = netns_unavailable();
  if (why.empty() && also)
    why = also();
  if (!why.empty()) {
    std::fprintf(stderr, "%s tests skipped: %s\n", suite, why.c_str());
    return 77;
  }
  return cluster_test_main(argc, argv);
}

} // namespace manta_test
