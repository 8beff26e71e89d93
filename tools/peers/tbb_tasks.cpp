// oneTBB's version of the peers benchmark's task shapes: `task_group::run`
// and `wait`, whose waiting thread runs other tasks meanwhile.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <tbb/task_group.h>

#include <future>
#include <memory>
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

/// Runs `one` as a task of `g` whose result goes to a future of its own:
/// a result a caller can hold, pass on and read later, as a Manta task's
/// ref is (a `task_group` alone only runs closures).
std::future<int> run_with_future(tbb::task_group& g) {
  auto promise = std::make_shared<std::promise<int>>();
  auto future = promise->get_future();
  g.run([promise] { promise->set_value(one()); });
  return future;
}

void spawn_get_futures(int n) {
  tbb::task_group g;
  spawn_then_get_all(n, [&g] { return run_with_future(g); });
  g.wait();
}

void one_by_one_futures(int n) {
  tbb::task_group g;
  one_at_a_time(n, [&g] { return run_with_future(g).get(); });
  g.wait();
}

} // namespace

task_library tbb_tasks() {
  return {"TBB", spawn_get, one_by_one, fork_join_root};
}

task_library tbb_future_tasks() {
  // No fork-join: a task blocked in `future::get` holds its TBB thread
  // without running others, so a deep tree would wait on itself.
  return {"TBB + std::future", spawn_get_futures, one_by_one_futures, {}};
}

} // namespace manta::tools::peers
