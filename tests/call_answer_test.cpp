// Who answers an actor call another node sent: the thread that ran the
// method (actors::early_call_answer), when the call is the only work the
// node hosts, succeeded, goes inline and nothing of it went through the
// node manager; else the node manager, as before. Counted in the worker
// process (actors::early_answers), and every result checked on the driver.
// This binary is the head, the worker and the driver (cluster_main.hpp).

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <manta/manta.hpp>

#include "actors/hosted_results.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

class answerer {
public:
  /// Answers sent by the threads that ran their work in this process so
  /// far, counted before this call's own.
  uint64_t answers() { return manta::actors::early_answers(); }
  int echo(int x) { return x; }
  std::vector<char> bytes(uint64_t n) { return std::vector<char>(n, 'b'); }
  std::string text(uint64_t n) { return std::string(n, 't'); }
  int fails(int x) { throw std::runtime_error("fails on purpose with " + std::to_string(x)); }
  /// Its argument holds refs: reading them sent +1s through the node
  /// manager, which the result must follow.
  int sum(std::vector<manta::object_ref<int>> refs) {
    int s = 0;
    for (auto& r : refs)
      s += manta::get(r);
    return s;
  }
  /// Its result holds a ref to an object of this node, lent to the caller.
  std::vector<manta::object_ref<int>> makes(int x) { return {manta::put(x), manta::put(x + 1)}; }
  /// A generator method: its items go through the node manager.
  void count(manta::generator_sink<int>& out, int n) {
    for (int i = 0; i < n; ++i)
      out.yield(i);
  }
};
MANTA_ACTOR(answerer, &answerer::answers, &answerer::echo, &answerer::bytes, &answerer::text,
            &answerer::fails, &answerer::sum, &answerer::makes, &answerer::count);

/// A one-CPU worker and a driver with no CPUs, and an `answerer` pinned on
/// the worker.
struct one_worker {
  manta::local_cluster cluster;
  manta::actor_handle<answerer> actor;
  one_worker() {
    cluster.add_worker(1);
    cluster.join(/*local_cpus=*/0);
    actor = manta::actor<answerer>().node_affinity(manta_test::sole_worker_node()).remote();
  }

  /// The worker's count of direct answers, read by a call (one at a time,
  /// so that call is the only work hosted; it is answered directly too).
  uint64_t answers() { return manta::get(actor.call(&answerer::answers).remote(), 10s); }
};

} // namespace

TEST_CASE("a lone actor call with a plain result is answered by the thread that ran it") {
  one_worker w;
  auto before = w.answers();
  CHECK(manta::get(w.actor.call(&answerer::echo).remote(41), 10s) == 41);
  // A byte vector of 64 KiB or more goes beside its message; a string
  // inside it; a value above the 1 MiB inline limit stays on the worker.
  auto small = manta::get(w.actor.call(&answerer::bytes).remote(uint64_t{100} << 10), 10s);
  CHECK(small == std::vector<char>(size_t{100} << 10, 'b'));
  CHECK(manta::get(w.actor.call(&answerer::text).remote(uint64_t{300}), 10s)
        == std::string(300, 't'));
  // The count of `before`, then three answers, then this count's own.
  CHECK(w.answers() == before + 4);
  auto large = manta::get(w.actor.call(&answerer::bytes).remote(uint64_t{3} << 20), 20s);
  CHECK(large.size() == size_t{3} << 20);
  CHECK(w.answers() == before + 4 + 1); // the count above, not the large result
}

TEST_CASE("calls whose results must follow the node manager are answered by it") {
  one_worker w;
  auto before = w.answers();
  // A failure: the node manager reports it (and an actor's death with it).
  CHECK_THROWS_WITH_AS(manta::get(w.actor.call(&answerer::fails).remote(7), 10s),
                       doctest::Contains("fails on purpose with 7"), manta::task_error);
  // Refs in the arguments: their +1s went through the node manager.
  std::vector<manta::object_ref<int>> refs{manta::put(1), manta::put(2), manta::put(3)};
  CHECK(manta::get(w.actor.call(&answerer::sum).remote(refs), 10s) == 6);
  // A generator method: its items went through the node manager.
  std::vector<int> items;
  auto gen = w.actor.call(&answerer::count).remote(5);
  while (auto item = gen.next(10s))
    items.push_back(manta::get(*item, 10s));
  CHECK(items == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(w.answers() == before + 1); // only the count above
}

TEST_CASE("a result holding refs answered directly keeps its objects alive for the caller") {
  one_worker w;
  auto before = w.answers();
  auto inner = manta::get(w.actor.call(&answerer::makes).remote(20), 10s);
  CHECK(w.answers() == before + 2); // that call and the count above
  REQUIRE(inner.size() == 2);
  CHECK(manta::get(inner[0], 10s) == 20);
  CHECK(manta::get(inner[1], 10s) == 21);
  // Read again after more traffic: the caller's refs still pin them there.
  for (int i = 0; i < 20; ++i)
    CHECK(manta::get(w.actor.call(&answerer::echo).remote(i), 10s) == i);
  CHECK(manta::get(inner[0], 10s) == 20);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
