// std::async's version of the peers benchmark's task shapes: a thread per
// task (std::launch::async), what C++ offers without a library.

#include "tools/peers/peers.hpp"

#include <cstdlib>
#include <future>
#include <vector>

namespace {

int one() {
  return 1;
}

long fork_join(int depth) {
  if (depth == 0)
    return 1;
  auto left = std::async(std::launch::async, fork_join, depth - 1);
  auto right = std::async(std::launch::async, fork_join, depth - 1);
  return 1 + left.get() + right.get();
}

} // namespace

namespace manta::tools::peers {

task_library std_async_tasks() {
  task_library lib;
  lib.name = "std::async";
  lib.spawn_get = [](int n) {
    std::vector<std::future<int>> futures;
    futures.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
      futures.push_back(std::async(std::launch::async, one));
    long sum = 0;
    for (auto& f : futures)
      sum += f.get();
    if (sum != n)
      std::abort();
  };
  lib.one_at_a_time = [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i)
      sum += std::async(std::launch::async, one).get();
    if (sum != n)
      std::abort();
  };
  lib.fork_join = fork_join;
  return lib;
}

} // namespace manta::tools::peers
