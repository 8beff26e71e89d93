#pragma once

// The main of a multi-process test binary (cluster tests start real nodes
// on 127.0.0.1 with manta::local_cluster, which runs this very binary as the
// head and the workers).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <functional>

namespace manta_test {

/// The head or a worker node when local_cluster started this process as
/// one (never returns), else the doctest run; `prepare`, if given, runs
/// before it (in the test process only, e.g. to redirect its streams).
inline int cluster_test_main(int argc, char** argv,
                             const std::function<void(doctest::Context&)>& prepare = {}) {
  if (manta::is_cluster_process(argc, argv)) {
    manta::init(argc, argv);
    return 1;
  }
  doctest::Context ctx(argc, argv);
  if (prepare)
    prepare(ctx);
  return ctx.run();
}

} // namespace manta_test
