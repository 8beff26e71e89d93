// Boost.Fiber's version of the peers benchmark's task shapes:
// `fibers::async` and `future::get`. The fibers run on the calling thread's
// scheduler (round robin, one thread): a blocked `get` switches to another
// fiber instead of parking a thread.

#include "tools/peers/peers.hpp"

#include <boost/fiber/all.hpp>

#include <cstdlib>
#include <vector>

namespace {

int one() {
  return 1;
}

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
  lib.spawn_get = [](int n) {
    std::vector<boost::fibers::future<int>> futures;
    futures.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
      futures.push_back(boost::fibers::async(one));
    long sum = 0;
    for (auto& f : futures)
      sum += f.get();
    if (sum != n)
      std::abort();
  };
  lib.one_at_a_time = [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i)
      sum += boost::fibers::async(one).get();
    if (sum != n)
      std::abort();
  };
  lib.fork_join = [](int depth) {
    // The root is a fiber too, as Manta's root is a task.
    return boost::fibers::async(fork_join, depth).get();
  };
  return lib;
}

} // namespace manta::tools::peers
