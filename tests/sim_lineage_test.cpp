// Lineage rebuild in a simulation (docs/simulation.md): a task's result
// larger than the cluster's inline limit stays on the node that made it
// (object_loss.hpp); when that node dies before any other node copied it, a
// read re-runs the task on a worker within its max_retries, as a cluster's
// driver does; and a task lost with its node while blocked in its code is
// placed again by its owner once the death is noticed.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "sim_guard.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

using manta_test::kill_at;
using manta_test::seeded;
using manta_test::sim_guard;

namespace {

/// Over the cluster's 1 MiB inline limit: such a result stays on its node.
constexpr size_t big_bytes = 2u << 20;

/// Runs of each seed's block, and the node of the last one.
std::map<int, int> block_runs;
int block_node = -1;
int twice_runs = 0;

/// 2 MiB filled with `seed`, after 10 ms of virtual work in its code.
std::vector<char> block(int seed) {
  ++block_runs[seed];
  block_node = static_cast<int>(manta::sim::current_node());
  manta::sleep(10ms);
  return std::vector<char>(big_bytes, static_cast<char>(seed));
}
MANTA_REMOTE(block);

/// A large result made from a large argument.
std::vector<char> twice(const std::vector<char>& v) {
  ++twice_runs;
  auto out = v;
  for (auto& c : out)
    c = static_cast<char>(c * 2);
  return out;
}
MANTA_REMOTE(twice);

long total(const std::vector<char>& v) {
  return std::accumulate(v.begin(), v.end(), 0L);
}
MANTA_REMOTE(total);

/// Sleeps a virtual second in its code and says on which node it ran.
int long_node() {
  manta::sleep(1s);
  return static_cast<int>(manta::sim::current_node());
}
MANTA_REMOTE(long_node);

void reset_counts() {
  block_runs.clear();
  block_node = -1;
  twice_runs = 0;
}

} // namespace

TEST_CASE("a result lost with its node is rebuilt by the read that needs it, on a worker") {
  auto run = [](uint64_t seed) {
    reset_counts();
    sim_guard g{seeded(seed, 4, {kill_at(50ms, 1)})};
    // Both made on node 1, where their results stay (over 1 MiB).
    auto big = manta::task(block).node_affinity(1, true).max_retries(1).remote(7);
    auto arg = manta::task(block).node_affinity(1, true).max_retries(1).remote(9);
    manta::wait(std::vector{big, arg}, 2); // a wait reads nothing
    CHECK(block_node == 1);
    manta::sleep(200ms); // node 1 died at 50 ms, noticed 100 ms later
    CHECK(block_runs == std::map<int, int>{{7, 1}, {9, 1}});
    // The driver's get re-runs the task on a worker (the least loaded,
    // never the driver's node 0) and reads it from there.
    auto value = manta::get(big);
    CHECK(value.size() == big_bytes);
    CHECK(value.front() == 7);
    CHECK(value.back() == 7);
    CHECK(block_runs[7] == 2);
    CHECK(block_node == 2);
    // The driver holds it now: another read runs nothing.
    CHECK(manta::get(big).front() == 7);
    CHECK(block_runs[7] == 2);
    // A task whose argument was lost waits for the argument's rebuild.
    CHECK(manta::get(manta::task(total).remote(arg)) == 9L * static_cast<long>(big_bytes));
    CHECK(block_runs[9] == 2);
    return manta::sim::summary().trace_hash;
  };
  auto one = run(11);
  CHECK(run(11) == one);
  CHECK(run(12) != one); // the jitter differs
}

TEST_CASE("a lost result whose rebuilds are spent fails with object_lost_error") {
  auto run = [](uint64_t seed, int max_retries) {
    reset_counts();
    // Node 1 holds the result and dies at 50 ms (noticed at 150 ms); the
    // rebuild starts on node 2 at about 150 ms and node 2 dies under it at
    // 155 ms, while it is in its code (noticed at 255 ms).
    sim_guard g{seeded(seed, 4, {kill_at(50ms, 1), kill_at(155ms, 2)})};
    auto big = manta::task(block).node_affinity(1, true).max_retries(max_retries).remote(5);
    manta::wait(std::vector{big}, 1);
    manta::sleep(50ms); // read at about 60 ms: lost, its loss noticed at 150 ms
    std::string what = "value";
    try {
      auto value = manta::get(big);
      CHECK(value.front() == 5);
    } catch (const manta::object_lost_error& e) {
      what = e.what();
    }
    return std::tuple{what, block_runs[5], block_node, manta::sim::summary().trace_hash};
  };
  // No retries: nothing rebuilds it.
  auto [none, none_runs, none_node, none_hash] = run(3, 0);
  CHECK(none.find("no retries left to rebuild it") != std::string::npos);
  CHECK(none_runs == 1);
  // One: spent by the rebuild that died with node 2.
  auto [one, one_runs, one_node, one_hash] = run(3, 1);
  CHECK(one.find("no retries left to rebuild it") != std::string::npos);
  CHECK(one_runs == 2);
  CHECK(one_node == 2);
  CHECK(std::get<3>(run(3, 1)) == one_hash);
  CHECK(std::get<3>(run(4, 1)) != one_hash);
  // Two: the second rebuild runs on node 3.
  auto [two, two_runs, two_node, two_hash] = run(3, 2);
  CHECK(two == "value");
  CHECK(two_runs == 3);
  CHECK(two_node == 3);
  (void)none_node;
  (void)none_hash;
  (void)two_hash;
}

TEST_CASE("chains: a lost object is rebuilt from an argument that survived, or after its lost "
          "argument is rebuilt first, each within its own retries, as on a cluster") {
  auto run = [](uint64_t seed) {
    reset_counts();
    sim_guard g{seeded(seed, 4, {kill_at(50ms, 1)})};
    // Kept on node 2, which lives; its child is made (and kept) on node 1.
    auto kept = manta::task(block).node_affinity(2, true).max_retries(1).remote(4);
    auto child = manta::task(twice).node_affinity(1, true).max_retries(1).remote(kept);
    // Both made and kept on node 1.
    auto gone = manta::task(block).node_affinity(1, true).max_retries(1).remote(3);
    auto orphan = manta::task(twice).node_affinity(1, true).max_retries(1).remote(gone);
    // Both on node 1 too, but the first cannot be rebuilt (no retries).
    auto spent = manta::task(block).node_affinity(1, true).max_retries(0).remote(5);
    auto stuck = manta::task(twice).node_affinity(1, true).max_retries(1).remote(spent);
    manta::wait(std::vector{child, orphan, stuck}, 3);
    CHECK(twice_runs == 3);
    manta::sleep(200ms);
    // The child's rebuild reads its argument from node 2: the task that
    // reads the child waits for it, then runs.
    CHECK(manta::get(manta::task(total).remote(child)) == 8L * static_cast<long>(big_bytes));
    CHECK(twice_runs == 4);
    CHECK(block_runs[4] == 1);
    // The orphan's lineage keeps its argument's: its rebuild waits for the
    // argument's, then runs; so does the task that reads it.
    CHECK(manta::get(manta::task(total).remote(orphan)) == 6L * static_cast<long>(big_bytes));
    CHECK(twice_runs == 5);
    CHECK(block_runs[3] == 2);
    // The stuck one's argument has no rebuild left: its rebuild fails
    // saying which argument is lost and why, and so does its reader.
    std::string why;
    try {
      manta::get(manta::task(total).remote(stuck));
    } catch (const manta::object_lost_error& e) {
      why = e.what();
    }
    CHECK(why.find("argument 1 of task 'total' is lost: it could not be rebuilt: argument 1 of "
                   "its task 'twice' is lost: its node (sim-node-1) died and its task has no "
                   "retries left to rebuild it")
          != std::string::npos);
    CHECK(twice_runs == 5);
    CHECK(block_runs[5] == 1);
    return manta::sim::summary().trace_hash;
  };
  auto one = run(21);
  CHECK(run(21) == one);
  CHECK(run(22) != one);
}

TEST_CASE("an argument lost between its task's placement and its run fails that attempt: the "
          "task runs again after the argument's rebuild, or fails if its retries are spent") {
  auto run = [](uint64_t seed, int reader_retries) {
    reset_counts();
    sim_guard g{seeded(seed, 4, {})};
    auto gone = manta::task(block).node_affinity(1, true).max_retries(1).remote(3);
    manta::wait(std::vector{gone}, 1);
    // Node 1 dies while the reader's spec travels to node 2 (placed at
    // once, it arrives after the 100 us latency).
    manta::sim::schedule(kill_at(manta::now().time_since_epoch() + 50us, 1));
    auto reader =
      manta::task(total).node_affinity(2, true).max_retries(reader_retries).remote(gone);
    std::string out;
    try {
      out = std::to_string(manta::get(reader));
    } catch (const manta::object_lost_error& e) {
      out = e.what();
    }
    return std::tuple{out, block_runs[3], manta::sim::summary().trace_hash};
  };
  // One retry: the argument is rebuilt, then the reader runs again.
  auto [value, runs, hash] = run(31, 1);
  CHECK(value == std::to_string(3L * static_cast<long>(big_bytes)));
  CHECK(runs == 2);
  CHECK(std::get<2>(run(31, 1)) == hash);
  CHECK(std::get<2>(run(32, 1)) != hash);
  // None: its one attempt failed reading the argument.
  auto [why, none_runs, none_hash] = run(31, 0);
  CHECK(why.find("argument 1 (object") != std::string::npos);
  CHECK(why.find("on sim-node-1) could not be read: its node died (simulated)")
        != std::string::npos);
  CHECK(none_runs == 1);
  (void)none_hash;
}

TEST_CASE("a task lost while blocked in its code is placed again by its owner once the death "
          "is noticed") {
  auto run = [](uint64_t seed) {
    manta::simulation_options s = seeded(seed, 4, {kill_at(100ms, 2)});
    s.cpus_per_node = 1;
    sim_guard g{s};
    // One CPU a node: the three go to nodes 0, 1 and 2, each in its code
    // for a virtual second.
    auto a = manta::task(long_node).remote();
    auto b = manta::task(long_node).remote();
    auto c = manta::task(long_node).max_retries(1).remote();
    CHECK(manta::get(a) == 0);
    CHECK(manta::get(b) == 1);
    int ran_on = manta::get(c);
    auto done_at = manta::now().time_since_epoch();
    return std::tuple{ran_on, done_at, manta::sim::summary().trace_hash};
  };
  auto [ran_on, done_at, hash] = run(31);
  // Node 2 dies at 100 ms under c; the driver notices at 200 ms and places
  // it again then, on the only node with room (not at the kill, when its
  // unwinding placed it at once as if from the dead node).
  CHECK(ran_on == 3);
  CHECK(done_at > 1200ms);
  CHECK(done_at < 1300ms);
  CHECK(std::get<2>(run(31)) == hash);
  CHECK(std::get<2>(run(32)) != hash);
}
