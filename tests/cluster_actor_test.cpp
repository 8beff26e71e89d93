// Actors on other nodes: this binary is the head, the worker nodes and the
// driver (see tests/cluster_main.hpp). The driver places actors on workers
// by affinity, resources or spread; calls travel there and back in order.

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/napper_actor.hpp"

#include <manta/manta.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

int add(int a, int b) {
  return a + b;
}

MANTA_REMOTE(add);

class ledger {
public:
  explicit ledger(int start) : total_(start) {}

  void append(int x) { log_.push_back(x); }
  std::vector<int> log() const { return log_; }
  int add(int x) { return total_ += x; }

  /// Where this instance lives, and whether it replaces a dead one.
  std::pair<int, int> where() const {
    return {manta::current_node(), static_cast<int>(::getpid())};
  }
  bool restarted() const { return manta::was_restarted(); }

  /// A result too large to travel inside the TaskResult (2 MiB).
  std::vector<uint64_t> big(uint64_t seed) const {
    std::vector<uint64_t> v((2u << 20) / sizeof(uint64_t));
    for (uint64_t i = 0; i < v.size(); ++i)
      v[i] = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    return v;
  }

  int slow(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ++slow_runs_;
  }

  int quit() { manta::exit_actor(); }

private:
  int total_;
  int slow_runs_ = 0;
  std::vector<int> log_;
};

MANTA_ACTOR(ledger, &ledger::append, &ledger::log, &ledger::add, &ledger::where, &ledger::restarted,
            &ledger::big, &ledger::slow, &ledger::quit);

} // namespace

TEST_CASE("an actor pinned to a worker keeps its state, in call order") {
  manta_test::two_worker_cluster cluster;
  auto& [c, w1, w2, ids] = cluster;
  auto a = manta::actor<ledger>().name("books").node_affinity(ids[w2]).remote(100);
  CHECK(manta::get(a.call(&ledger::where).remote(), 10s) == std::pair{int(ids[w2]), w2});
  // 2,000 calls from one caller arrive in submission order.
  for (int i = 0; i < 2000; ++i)
    a.call(&ledger::append).remote(i);
  auto log = manta::get(a.call(&ledger::log).remote(), 20s);
  REQUIRE(log.size() == 2000);
  bool in_order = true;
  for (int i = 0; i < 2000; ++i)
    in_order = in_order && log[static_cast<size_t>(i)] == i;
  CHECK(in_order);
  // An argument made by a task on the other worker, and state that persists.
  auto made = manta::task(add).node_affinity(ids[w1]).remote(1, 2);
  CHECK(manta::get(a.call(&ledger::add).remote(made)) == 103);
  CHECK(manta::get(a.call(&ledger::add).remote(7)) == 110);
  // A handle is a value; the named actor is found again.
  auto same = manta::get_actor<ledger>("books");
  CHECK(same == a);
  CHECK(manta::get(same.call(&ledger::add).remote(0)) == 110);
  // A large result is fetched from the actor's node, byte-exact.
  auto big = manta::get(a.call(&ledger::big).remote(uint64_t{5}), 10s);
  REQUIRE(big.size() == (2u << 20) / sizeof(uint64_t));
  CHECK(big[0] == (1 * 0x9E3779B97F4A7C15ull ^ 5));
  CHECK(big.back() == (big.size() * 0x9E3779B97F4A7C15ull ^ 5));
  // The state API says where it lives.
  bool listed = false;
  for (auto& info : manta::list_actors())
    if (info.name == "books") {
      listed = true;
      CHECK(info.node == "node-" + std::to_string(ids[w2]));
      CHECK(info.state == "ALIVE");
    }
  CHECK(listed);
}

TEST_CASE("actors go where their resources are; spread places them over the nodes") {
  manta::local_cluster c;
  c.add_worker(1);
  auto gpu_node = c.add_worker(1, "GPU:1");
  c.join(1);
  auto g = manta::actor<ledger>().resources({{"GPU", 1}}).remote(0);
  CHECK(manta::get(g.call(&ledger::where).remote(), 10s).second == gpu_node);
  auto local = manta::actor<ledger>().remote(0);
  CHECK(manta::get(local.call(&ledger::where).remote()).second == ::getpid());
  std::set<int> pids;
  std::vector<manta::actor_handle<ledger>> spread;
  for (int i = 0; i < 6; ++i)
    spread.push_back(manta::actor<ledger>().spread().remote(i));
  for (auto& s : spread)
    pids.insert(manta::get(s.call(&ledger::where).remote(), 10s).second);
  CHECK(pids.size() == 3);
  CHECK_THROWS_AS(manta::actor<ledger>().resources({{"TPU", 1}}).remote(0),
                  manta::infeasible_task_error);
}

TEST_CASE("an async actor on a worker overlaps its waits") {
  manta::local_cluster c;
  auto w = c.add_worker(1);
  c.join(0);
  auto ids = manta_test::worker_nodes(1);
  auto s = manta::actor<napper>().node_affinity(ids[w]).remote();
  manta::get(s.call(&napper::nap).remote(0), 10s); // created
  auto t0 = steady::now();
  std::vector<manta::object_ref<int>> naps;
  // One after another they take 4.5 s; overlapped, 1.5 s and the calls'
  // cost. The bound sits between (two naps), far from both: a loaded
  // machine's delays do not reach it, a serial actor cannot get under it.
  for (int i = 0; i < 3; ++i)
    naps.push_back(s.call(&napper::nap).remote(1500));
  for (auto& n : naps)
    CHECK(manta::get(n, 20s) == 1500);
  auto took = std::chrono::duration<double>(steady::now() - t0).count();
  MESSAGE("three 1.5 s naps took " << took << " s");
  CHECK(took < 3.0);
}

TEST_CASE("a remote actor that exits or is killed fails later calls with actor_died_error") {
  manta::local_cluster c;
  auto w = c.add_worker(1);
  c.join(0);
  auto ids = manta_test::worker_nodes(1);
  auto quitter = manta::actor<ledger>().name("quitter").node_affinity(ids[w]).remote(0);
  CHECK(manta::get(quitter.call(&ledger::add).remote(1), 10s) == 1);
  CHECK_THROWS_AS(manta::get(quitter.call(&ledger::quit).remote(), 10s), manta::actor_died_error);
  try {
    manta::get(quitter.call(&ledger::add).remote(1), 10s);
    FAIL("a call to an actor that exited succeeded");
  } catch (const manta::actor_died_error& e) {
    CHECK(std::string{e.what()}.find("ledger 'quitter'") != std::string::npos);
  }
  auto victim = manta::actor<ledger>().node_affinity(ids[w]).remote(0);
  CHECK(manta::get(victim.call(&ledger::add).remote(2), 10s) == 2);
  manta::kill(victim);
  try {
    manta::get(victim.call(&ledger::add).remote(1), 10s);
    FAIL("a call to a killed actor succeeded");
  } catch (const manta::actor_died_error& e) {
    CHECK(std::string{e.what()}.find("manta::kill") != std::string::npos);
  }
}

TEST_CASE("kill -9 of an actor's node: it restarts elsewhere while max_restarts allows") {
  manta_test::two_worker_cluster cluster;
  auto& [c, doomed, spare, ids] = cluster;
  auto at = ids[doomed];
  auto survivor = manta::actor<ledger>()
                    .node_affinity(at, /*soft=*/true)
                    .max_restarts(1)
                    .max_task_retries(1)
                    .remote(0);
  auto mortal = manta::actor<ledger>().name("mortal").node_affinity(at, true).remote(0);
  CHECK(manta::get(survivor.call(&ledger::where).remote(), 10s).second == doomed);
  CHECK(manta::get(mortal.call(&ledger::where).remote(), 10s).second == doomed);
  CHECK_FALSE(manta::get(survivor.call(&ledger::restarted).remote()));
  // A call running when the node dies is re-run on the new instance.
  auto running = survivor.call(&ledger::slow).remote(300);
  auto lost = mortal.call(&ledger::slow).remote(300);
  std::this_thread::sleep_for(100ms);
  c.kill_worker(doomed, 1);
  c.wait_for_cpus(1);
  CHECK(manta::get(running, 20s) == 1);
  CHECK(manta::get(survivor.call(&ledger::where).remote(), 10s).second == spare);
  CHECK(manta::get(survivor.call(&ledger::restarted).remote(), 10s));
  CHECK_THROWS_AS(manta::get(lost, 10s), manta::actor_died_error);
  try {
    manta::get(mortal.call(&ledger::add).remote(1), 10s);
    FAIL("an actor without restarts outlived its node");
  } catch (const manta::actor_died_error& e) {
    CHECK(std::string{e.what()}.find("node-" + std::to_string(at)) != std::string::npos);
  }
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
