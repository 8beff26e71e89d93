// std::async's version of the peers benchmark's task shapes: a thread per
// task (std::launch::async), what C++ offers without a library.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <future>

namespace {

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
    spawn_then_get_all(n, [] { return std::async(std::launch::async, one); });
  };
  lib.one_at_a_time = [](int n) {
    one_at_a_time(n, [] { return std::async(std::launch::async, one).get(); });
  };
  lib.fork_join = fork_join;
  return lib;
}

} // namespace manta::tools::peers
