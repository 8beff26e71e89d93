// Boost.Fiber's version of the peers benchmark's task shapes:
// `fibers::async` and `future::get`. The fibers run on the calling thread's
// scheduler (round robin, one thread): a blocked `get` switches to another
// fiber instead of parking a thread.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <boost/fiber/all.hpp>

namespace manta::tools::peers {

namespace {

long fork_join(int depth) {
  return fork_join_futures(depth, [](int d) { return boost::fibers::async(fork_join, d); });
}

void spawn_get(int n) {
  spawn_then_get_all(n, [] { return boost::fibers::async(one); });
}

void one_by_one(int n) {
  one_at_a_time(n, [] { return boost::fibers::async(one).get(); });
}

/// The root is a fiber too, as Manta's root is a task.
long fork_join_root(int depth) {
  return boost::fibers::async(fork_join, depth).get();
}

} // namespace

task_library fiber_tasks() {
  return {"Boost.Fiber", spawn_get, one_by_one, fork_join_root};
}

} // namespace manta::tools::peers
