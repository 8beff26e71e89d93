// std::async's version of the peers benchmark's task shapes: a thread per
// task (std::launch::async), what C++ offers without a library.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <future>

namespace manta::tools::peers {

namespace {

long fork_join(int depth) {
  return fork_join_futures(depth,
                           [](int d) { return std::async(std::launch::async, fork_join, d); });
}

void spawn_get(int n) {
  spawn_then_get_all(n, [] { return std::async(std::launch::async, one); });
}

void one_by_one(int n) {
  one_at_a_time(n, [] { return std::async(std::launch::async, one).get(); });
}

} // namespace

task_library std_async_tasks() {
  return {"std::async", spawn_get, one_by_one, fork_join};
}

} // namespace manta::tools::peers
