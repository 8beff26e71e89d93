// Streaming generators in a cluster of real node processes (this binary is
// also the head and the worker: cluster_main.hpp). Streaming items from a
// worker node is not built yet: a generator runs on the driver that calls
// it, streams from there while the worker runs the driver's other tasks,
// and one that cannot run there (pinned to the worker, or a method of an
// actor living on the worker) fails at once with an error that says why.

#include "tests/cluster_main.hpp"

#include "tests/cluster_helpers.hpp"

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Yields the node it runs on, n times.
void node_stream(manta::generator_sink<int>& out, int n) {
  for (int i = 0; i < n; ++i)
    out.yield(static_cast<int>(manta::current_node()));
}
MANTA_REMOTE(node_stream);

class streamer {
public:
  void numbers(manta::generator_sink<int>& out, int n) {
    for (int i = 0; i < n; ++i)
      out.yield(i);
  }
  int where() { return static_cast<int>(manta::current_node()); }
};
MANTA_ACTOR(streamer, &streamer::numbers, &streamer::where);

} // namespace

TEST_CASE("in a cluster a generator streams from the driver; one that must leave it says why") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(/*local_cpus=*/1);
  auto ids = manta_test::worker_nodes(1);
  REQUIRE(ids.size() == 1);
  auto worker = ids.begin()->second;
  auto driver = static_cast<int>(manta::current_node());
  REQUIRE(static_cast<int>(worker) != driver);

  // Runs on the driver, item by item, while the worker serves other tasks.
  auto gen = manta::task(node_stream).remote(4);
  std::vector<int> nodes;
  while (auto ref = gen.next(20s))
    nodes.push_back(manta::get(*ref, 10s));
  CHECK(nodes == std::vector<int>(4, driver));
  auto [node, pid] = manta::get(manta::task(manta_test::where_it_ran).node_affinity(worker)
                                  .remote(), 20s);
  CHECK(node == static_cast<int>(worker));

  // Pinned to the worker: item 0 is the error, naming the sink.
  auto pinned = manta::task(node_stream).node_affinity(worker).remote(2);
  auto first = pinned.next(20s);
  REQUIRE(first.has_value());
  CHECK_THROWS_WITH_AS(manta::get(*first, 10s),
                       doctest::Contains("streaming items from another node is not built yet"),
                       manta::infeasible_task_error);
  CHECK_FALSE(pinned.next(5s).has_value());

  // A generator method of an actor on the worker: the same, as item 0.
  auto a = manta::actor<streamer>().node_affinity(worker).remote();
  CHECK(manta::get(a.call(&streamer::where).remote(), 20s) == static_cast<int>(worker));
  auto far = a.call(&streamer::numbers).remote(3);
  auto err = far.next(20s);
  REQUIRE(err.has_value());
  CHECK_THROWS_WITH(manta::get(*err, 10s),
                    doctest::Contains("streaming items from another node is not built yet"));
  CHECK_FALSE(far.next(5s).has_value());
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
