// Streaming generators in a cluster of real node processes (this binary is
// also the head and the worker: cluster_main.hpp): a generator task placed
// on a worker streams its items back to the driver as they are yielded (the
// producer below waits until the driver has read item 0, which it could not
// if items came at the end), an exception mid-stream is the item where it
// happened, and cancel stops the producer there. Generator methods of
// actors on workers are not built yet: they fail at item 0 saying so.

#include "tests/cluster_main.hpp"

#include "tests/cluster_helpers.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Waits (bounded) for `path` to exist: the other process's signal.
bool appears(const std::string& path, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!std::filesystem::exists(path)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

void touch(const std::string& path) {
  std::ofstream{path} << "x";
}

/// Yields the node it runs on, then waits for the driver to have read it
/// (the file `read0`), then yields it again.
void node_stream(manta::generator_sink<int>& out, std::string read0) {
  out.yield(static_cast<int>(manta::current_node()));
  if (!appears(read0, 30s))
    throw std::runtime_error("the driver never read item 0 while the producer ran");
  out.yield(static_cast<int>(manta::current_node()));
}

void fails_at(manta::generator_sink<std::string>& out, int k) {
  for (int i = 0;; ++i) {
    if (i == k)
      throw std::runtime_error("boom at " + std::to_string(k));
    out.yield("item " + std::to_string(i));
  }
}

/// Yields every millisecond for up to 30 s; writes `stopped` when a
/// cancel stops it at a yield.
void endless(manta::generator_sink<int>& out, std::string stopped) {
  auto until = std::chrono::steady_clock::now() + 30s;
  try {
    for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
      out.yield(i);
      std::this_thread::sleep_for(1ms);
    }
  } catch (const manta::task_cancelled_error&) {
    touch(stopped);
    throw;
  }
}

MANTA_REMOTE(node_stream, fails_at, endless);

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

TEST_CASE("a generator task on a worker streams its items to the driver as they come") {
  manta::local_cluster c;
  c.add_worker(2);
  c.join(/*local_cpus=*/0); // generators run on the worker
  auto driver = static_cast<int>(manta::current_node());

  auto read0 = c.dir() + "/read0";
  auto gen = manta::task(node_stream).remote(read0);
  auto first = gen.next(30s);
  REQUIRE(first.has_value()); // at the end only, this would time out
  int worker = manta::get(*first, 10s);
  CHECK(worker != driver);
  CHECK_FALSE(gen.finished());
  touch(read0);
  auto second = gen.next(30s);
  REQUIRE(second.has_value());
  CHECK(manta::get(*second, 10s) == worker); // throws if the producer gave up
  CHECK_FALSE(gen.next(20s).has_value());
  CHECK(gen.finished());

  // An exception after 2 items is item 2; the items before stay readable.
  auto failing = manta::task(fails_at).remote(2);
  std::vector<manta::object_ref<std::string>> refs;
  while (auto ref = failing.next(30s))
    refs.push_back(*ref);
  REQUIRE(refs.size() == 3);
  CHECK(manta::get(refs[0], 10s) == "item 0");
  CHECK(manta::get(refs[1], 10s) == "item 1");
  CHECK_THROWS_WITH_AS(manta::get(refs[2], 10s), doctest::Contains("boom at 2"),
                       manta::task_error);

  // Cancel reaches the worker: the producer stops at its next yield there.
  auto stopped = c.dir() + "/stopped";
  auto endless_gen = manta::task(endless).remote(stopped);
  REQUIRE(endless_gen.next(30s).has_value());
  REQUIRE(endless_gen.next(30s).has_value());
  endless_gen.cancel();
  CHECK(appears(stopped, 30s));
  std::vector<manta::object_ref<int>> rest;
  while (auto ref = endless_gen.next(30s))
    rest.push_back(*ref);
  REQUIRE_FALSE(rest.empty());
  CHECK_THROWS_AS(manta::get(rest.back(), 10s), manta::task_cancelled_error);
}

TEST_CASE("a generator method of an actor on a worker fails at item 0, saying why") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(/*local_cpus=*/1);
  auto ids = manta_test::worker_nodes(1);
  REQUIRE(ids.size() == 1);
  auto worker = ids.begin()->second;
  auto a = manta::actor<streamer>().node_affinity(worker).remote();
  CHECK(manta::get(a.call(&streamer::where).remote(), 20s) == static_cast<int>(worker));
  auto far = a.call(&streamer::numbers).remote(3);
  auto err = far.next(20s);
  REQUIRE(err.has_value());
  CHECK_THROWS_WITH(manta::get(*err, 10s),
                    doctest::Contains("generator methods run only on actors of the calling node"));
  CHECK_FALSE(far.next(5s).has_value());
  // The same method on an actor on the driver streams.
  auto here = manta::actor<streamer>().node_affinity(manta::current_node()).remote();
  std::vector<int> got;
  for (auto& ref : here.call(&streamer::numbers).remote(3))
    got.push_back(manta::get(ref, 10s));
  CHECK(got == std::vector<int>{0, 1, 2});
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
