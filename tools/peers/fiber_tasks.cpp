// Boost.Fiber's version of the peers benchmark's task shapes:
// `fibers::async` and `future::get`. The fibers run on the calling thread's
// scheduler (round robin, one thread): a blocked `get` switches to another
// fiber instead of parking a thread.

#include "tools/peers/peers.hpp"
#include "tools/peers/task_shapes.hpp"

#include <boost/fiber/all.hpp>


namespace {

long fork_join(int depth) {
  if (depth == 0)
    return 1;
  auto left = boost::fibers::async(fork_join, depth - 1);
  auto right = boost::fibers::async(fork_join, depth - 1);
  return 1 + left.get() + right.get();
}

} // namespace

namespace manta::tools::peers {

task_library fiber_tasks() {
  task_library lib;
  lib.name = "Boost.Fiber";
  lib.spawn_get = [](int n) { spawn_then_get_all(n, [] { return boost::fibers::async(one); }); };
  lib.one_at_a_time = [](int n) {
    one_at_a_time(n, [] { return boost::fibers::async(one).get(); });
  };
  lib.fork_join = [](int depth) {
    // The root is a fiber too, as Manta's root is a task.
    return boost::fibers::async(fork_join, depth).get();
  };
  return lib;
}

} // namespace manta::tools::peers
