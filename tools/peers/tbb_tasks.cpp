// oneTBB's version of the peers benchmark's task shapes: `task_group::run`
// and `wait`, whose waiting thread runs other tasks meanwhile.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <tbb/task_group.h>

#include <vector>

namespace manta::tools::peers {

namespace {

long fork_join(int depth) {
  return fork_join_both(depth, fork_join, [](auto left, auto right) {
    tbb::task_group g;
    g.run(left);
    g.run(right);
    g.wait();
  });
}

void spawn_get(int n) {
  std::vector<int> results(static_cast<size_t>(n));
  tbb::task_group g;
  for (int i = 0; i < n; ++i)
    g.run([&results, i] { results[static_cast<size_t>(i)] = one(); });
  g.wait();
  check_results(results, n);
}

void one_by_one(int n) {
  tbb::task_group g;
  one_at_a_time(n, [&g] {
    int result = 0;
    g.run([&result] { result = one(); });
    g.wait();
    return result;
  });
}

/// The root is a task too, as Manta's is.
long fork_join_root(int depth) {
  long total = 0;
  tbb::task_group g;
  g.run([&] { total = fork_join(depth); });
  g.wait();
  return total;
}

} // namespace

task_library tbb_tasks() {
  return {"TBB", spawn_get, one_by_one, fork_join_root};
}

} // namespace manta::tools::peers
