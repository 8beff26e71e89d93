// oneTBB's version of the peers benchmark's task shapes: `task_group::run`
// and `wait`, whose waiting thread runs other tasks meanwhile.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <tbb/task_group.h>

#include <vector>

namespace {

long fork_join(int depth) {
  if (depth == 0)
    return 1;
  long left = 0;
  long right = 0;
  tbb::task_group g;
  g.run([&] { left = fork_join(depth - 1); });
  g.run([&] { right = fork_join(depth - 1); });
  g.wait();
  return 1 + left + right;
}

} // namespace

namespace manta::tools::peers {

task_library tbb_tasks() {
  task_library lib;
  lib.name = "TBB";
  lib.spawn_get = [](int n) {
    std::vector<int> results(static_cast<size_t>(n));
    tbb::task_group g;
    for (int i = 0; i < n; ++i)
      g.run([&results, i] { results[static_cast<size_t>(i)] = one(); });
    g.wait();
    check_results(results, n);
  };
  lib.one_at_a_time = [](int n) {
    tbb::task_group g;
    one_at_a_time(n, [&g] {
      int result = 0;
      g.run([&result] { result = one(); });
      g.wait();
      return result;
    });
  };
  lib.fork_join = [](int depth) {
    // The root is a task too, as Manta's is.
    long total = 0;
    tbb::task_group g;
    g.run([&] { total = fork_join(depth); });
    g.wait();
    return total;
  };
  return lib;
}

} // namespace manta::tools::peers
