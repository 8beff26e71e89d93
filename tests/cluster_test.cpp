// Multi-process cluster: this binary is the head, the worker nodes and the
// driver. Each test case starts a head and workers as child processes of
// itself (--manta-head / --manta-worker) and drives tasks across them.

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/cluster_pipeline.hpp"

#include <manta/manta.hpp>

#include "manta/cluster/remote_object.hpp"
#include "manta/net/wire_failure.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

int add(int a, int b) {
  return a + b;
}

/// Sleeps, then says which process ran it.
int pid_after(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return static_cast<int>(::getpid());
}

int square_slowly(int x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x * x;
}

uint64_t pattern(uint64_t i, uint64_t seed) {
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
  x ^= x >> 29;
  return x * 0xBF58476D1CE4E5B9ull;
}

/// `bytes` of a deterministic pattern (sleeping first, so that two of them
/// submitted together land on different nodes).
std::vector<uint64_t> blob(uint64_t bytes, uint64_t seed, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::vector<uint64_t> v(bytes / sizeof(uint64_t));
  for (uint64_t i = 0; i < v.size(); ++i)
    v[i] = pattern(i, seed);
  return v;
}

/// `v` with each element xor `salt`: a large result made from a large
/// argument (a link of a chain).
std::vector<uint64_t> mix(const std::vector<uint64_t>& v, uint64_t salt) {
  auto out = v;
  for (auto& x : out)
    x ^= salt;
  return out;
}

uint64_t checksum(const std::vector<uint64_t>& v) {
  uint64_t h = 0;
  for (auto x : v)
    h = h * 31 + x;
  return h;
}

int fails(int x) {
  throw std::domain_error("no square root of " + std::to_string(x));
}

/// Fails with one of the runtime's own errors, raised on the node it runs on.
int reads_empty_ref(int) {
  return manta::get(manta::object_ref<int>{});
}

/// Which node and process ran it.
std::pair<int, int> node_and_pid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return {manta::current_node(), static_cast<int>(::getpid())};
}

/// Which node summed the vector, and the sum.
std::pair<int, double> where_total(const std::vector<double>& v) {
  return {manta::current_node(), manta_test::total(v)};
}

MANTA_REMOTE(add, pid_after, square_slowly, blob, mix, checksum, fails, reads_empty_ref,
             node_and_pid, where_total);

/// Whether `v` is blob(bytes, seed, ...), each element xor `salt`.
bool matches_pattern(const std::vector<uint64_t>& v, uint64_t bytes, uint64_t seed,
                     uint64_t salt = 0) {
  if (v.size() != bytes / sizeof(uint64_t)) {
    MESSAGE("size " << v.size() * sizeof(uint64_t) << " instead of " << bytes);
    return false;
  }
  for (uint64_t i = 0; i < v.size(); ++i)
    if (v[i] != (pattern(i, seed) ^ salt)) {
      MESSAGE("first difference at element " << i);
      return false;
    }
  return true;
}

} // namespace

TEST_CASE("tasks run on the worker nodes and come back") {
  manta::local_cluster c;
  auto w1 = c.add_worker(1);
  auto w2 = c.add_worker(1);
  c.join(/*local_cpus=*/0);
  CHECK(manta::cluster_resources()["CPU"] == 2);
  CHECK(manta::get(manta::task(add).remote(1, 2)) == 3);
  // Dataflow across nodes: a ref argument produced elsewhere.
  auto a = manta::task(add).remote(1, 2);
  auto b = manta::task(add).remote(a, 10);
  CHECK(manta::get(b) == 13);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 8; ++i)
    refs.push_back(manta::task(pid_after).remote(100));
  auto [ready, pending] = manta::wait(refs, 8, 10s);
  CHECK(ready.size() == 8);
  std::set<int> pids;
  for (auto& r : refs)
    pids.insert(manta::get(r));
  CHECK(pids == std::set<int>{w1, w2});
}

TEST_CASE("a busy driver node spills tasks to the workers") {
  manta::local_cluster c;
  auto w1 = c.add_worker(1);
  c.join(/*local_cpus=*/1);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 6; ++i)
    refs.push_back(manta::task(pid_after).remote(150));
  std::set<int> pids;
  for (auto& r : refs)
    pids.insert(manta::get(r));
  CHECK(pids == std::set<int>{static_cast<int>(::getpid()), w1});
}

TEST_CASE("a three-stage pipeline across nodes") {
  manta::local_cluster c;
  c.add_worker(1);
  c.add_worker(1);
  c.join(0);
  manta_test::run_pipeline();
}

TEST_CASE("large arguments move node to node, never through the driver; tasks go where they are") {
  manta_test::two_worker_cluster cluster;
  auto& [c, w1, w2, node_of] = cluster;
  const double n = double(1 << 20);
  const double sum = (n - 1) * n / 2; // of 0, 1, ..., n - 1
  // 8 MiB made on w1 and kept there.
  auto big = manta::task(manta_test::generate).node_affinity(node_of[w1]).remote(1 << 20, 0.0);
  manta::wait(std::vector{big}, 1, 10s);
  REQUIRE(big.slot()->remote() != nullptr);
  // Locality: a task reading it runs where it is.
  auto here = manta::get(manta::task(where_total).remote(big), 10s);
  CHECK(here.first == node_of[w1]);
  CHECK(here.second == doctest::Approx(sum));
  // Pinned elsewhere: w2 reads it from w1 directly.
  auto there = manta::get(manta::task(where_total).node_affinity(node_of[w2]).remote(big), 10s);
  CHECK(there.first == node_of[w2]);
  CHECK(there.second == doctest::Approx(sum));
  CHECK_FALSE(big.slot()->resident()); // the driver never held its bytes
  // A large put is read from the driver by the node that needs it.
  auto mine = manta::put(std::vector<double>(1 << 19, 1.5));
  auto read = manta::get(manta::task(where_total).node_affinity(node_of[w2]).remote(mine), 10s);
  CHECK(read.first == node_of[w2]);
  CHECK(read.second == doctest::Approx(1.5 * double(1 << 19)));
  // Its maker dies: w2 kept the copy it read (and told the driver), so the
  // task runs there on that copy.
  c.kill_worker(w1, 1);
  c.wait_for_cpus(1);
  auto rebuilt = manta::get(manta::task(where_total).remote(big), 20s);
  CHECK(rebuilt.first == node_of[w2]);
  CHECK(rebuilt.second == doctest::Approx(sum));
}

TEST_CASE("a 256 MiB result is fetched byte-exact") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0);
  constexpr uint64_t bytes = 256ull << 20;
  auto ref = manta::task(blob).remote(bytes, 42, 0);
  manta::wait(std::vector{ref}, 1, 60s);
  REQUIRE(ref.ready());
  REQUIRE(ref.slot()->remote() != nullptr); // it stayed on the worker
  auto location = [&] {
    for (auto& o : manta::memory_summary().objects)
      if (o.id == ref.id())
        return o.location;
    return std::string{"absent"};
  };
  CHECK(location() == "node " + std::to_string(ref.slot()->remote()->node.load()));
  auto start = steady::now();
  auto v = manta::get_shared(ref);
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  MESSAGE("fetched 256 MiB in " << secs << " s: " << (256.0 / secs) << " MiB/s");
  CHECK(matches_pattern(*v, bytes, 42));
  // A second get reads the local copy.
  CHECK(manta::get_shared(ref).get() == v.get());
  CHECK(location() == "memory");
}

TEST_CASE("a full driver evicts its cached copies of remote objects instead of spilling them") {
  manta::local_cluster c;
  c.add_worker(1);
  manta::init_options opts;
  opts.object_store_memory = 20u << 20;
  c.join(0, opts);
  constexpr uint64_t bytes = 8u << 20;
  std::vector<manta::object_ref<std::vector<uint64_t>>> refs;
  for (uint64_t seed = 1; seed <= 3; ++seed)
    refs.push_back(manta::task(blob).remote(bytes, seed, 0));
  manta::wait(refs, 3, 30s);
  auto location = [](const manta::object_id& id) {
    for (auto& o : manta::memory_summary().objects)
      if (o.id == id)
        return o.location;
    return std::string{"absent"};
  };
  for (uint64_t k = 0; k < 3; ++k) // 24 MiB read into a 20 MiB store
    CHECK(matches_pattern(manta::get(refs[k]), bytes, k + 1));
  auto summary = manta::memory_summary();
  CHECK(summary.spilled_objects == 0);
  int evicted = 0;
  for (auto& r : refs)
    evicted += location(r.id()).rfind("node ", 0) == 0;
  CHECK(evicted >= 1);
  // Every copy comes back, fetched again where it was evicted.
  for (uint64_t k = 0; k < 3; ++k)
    CHECK(matches_pattern(manta::get(refs[k]), bytes, k + 1));
  CHECK(manta::memory_summary().spilled_objects == 0);
}

TEST_CASE("a task needing a GPU runs only where one is declared") {
  manta::local_cluster c;
  auto cpu_node = c.add_worker(2);
  auto gpu_node = c.add_worker(1, "GPU:1");
  c.join(0);
  CHECK(manta::cluster_resources()["GPU"] == 1);
  std::vector<manta::object_ref<int>> gpu, cpu;
  for (int i = 0; i < 4; ++i)
    gpu.push_back(manta::task(pid_after).resources({{"GPU", 1}}).remote(20));
  for (int i = 0; i < 6; ++i)
    cpu.push_back(manta::task(pid_after).remote(50));
  for (auto& r : gpu)
    CHECK(manta::get(r) == gpu_node);
  std::set<int> cpu_pids;
  for (auto& r : cpu)
    cpu_pids.insert(manta::get(r));
  CHECK(cpu_pids.count(cpu_node) == 1);
  auto tpu = manta::task(pid_after).resources({{"TPU", 1}}).remote(1);
  CHECK_THROWS_AS(manta::get(tpu), manta::infeasible_task_error);
}

namespace {
int driver_only(int x) {
  return x + 1;
}
} // namespace

TEST_CASE("spread sends tasks round robin over every node, this one included") {
  manta::local_cluster c;
  c.add_worker(1);
  c.add_worker(1);
  c.join(2); // the driver could run them all itself
  std::vector<manta::object_ref<std::pair<int, int>>> refs;
  for (int i = 0; i < 6; ++i)
    refs.push_back(manta::task(node_and_pid).spread().remote(20));
  std::map<int, int> per_node;
  for (auto& r : refs)
    ++per_node[manta::get(r).first];
  CHECK(per_node.size() == 3);
  for (auto& [node, n] : per_node)
    CHECK_MESSAGE(n == 2, "node " << node << " ran " << n << " of 6 spread tasks");
  CHECK(per_node.count(manta::current_node()) == 1);
  // Without spread, a driver with room keeps them.
  std::set<int> default_nodes;
  for (int i = 0; i < 2; ++i)
    default_nodes.insert(manta::get(manta::task(node_and_pid).remote(0)).first);
  CHECK(default_nodes == std::set<int>{manta::current_node()});
}

TEST_CASE("node affinity pins tasks to a node; hard affinity to a dead node fails clearly") {
  manta::local_cluster c;
  c.add_worker(1);
  auto second = c.add_worker(1);
  c.join(0);
  // Find each worker's node id from where spread tasks ran.
  std::map<int, int> node_of_pid;
  for (int i = 0; i < 4; ++i) {
    auto [node, pid] = manta::get(manta::task(node_and_pid).spread().remote(0));
    node_of_pid[pid] = node;
  }
  REQUIRE(node_of_pid.count(second) == 1);
  auto target = static_cast<manta::node_id>(node_of_pid[second]);
  std::vector<manta::object_ref<int>> pinned;
  for (int i = 0; i < 6; ++i)
    pinned.push_back(manta::task(pid_after).node_affinity(target).remote(10));
  for (auto& r : pinned)
    CHECK(manta::get(r) == second);
  c.kill_worker(second, 1);
  c.wait_for_cpus(1);
  auto hard = manta::task(pid_after).node_affinity(target).remote(0);
  try {
    manta::get(hard, 10s);
    FAIL("a hard affinity to a dead node ran");
  } catch (const manta::infeasible_task_error& e) {
    CHECK(std::string{e.what()}.find("node " + std::to_string(target)) != std::string::npos);
    CHECK(std::string{e.what()}.find("not alive") != std::string::npos);
  }
  // Its end is in the state API while the ref is still held, with the
  // reason at once (from the slot) and its end time once end_task has
  // recorded it, just after the seal that woke this get.
  bool listed = false;
  for (auto& t : manta::list_tasks())
    if (t.id == hard.id()) {
      listed = true;
      CHECK(t.state == manta::task_state::failed);
      CHECK(t.error.find("not alive") != std::string::npos);
    }
  CHECK(listed);
  auto recorded = [&] {
    for (auto& t : manta::list_tasks())
      if (t.id == hard.id())
        return t.ended_us > 0;
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!recorded() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  CHECK(recorded());
  auto soft = manta::task(pid_after).node_affinity(target, /*soft=*/true).remote(0);
  CHECK(manta::get(soft, 10s) != second);
  // On a single node, a hard affinity elsewhere is refused at once.
  manta::shutdown();
  manta::init_options one;
  one.num_cpus = 1;
  manta::init(one);
  CHECK(manta::current_node() == 0);
  CHECK(manta::get(manta::task(add).node_affinity(0).remote(1, 2)) == 3);
  CHECK_THROWS_AS(manta::get(manta::task(add).node_affinity(3).remote(1, 2)),
                  manta::infeasible_task_error);
  CHECK(manta::get(manta::task(add).node_affinity(3, true).remote(1, 2)) == 3);
}

TEST_CASE("errors on remote nodes are clear") {
  manta::local_cluster c;
  auto w = c.add_worker(1);
  c.join(0);
  try {
    manta::get(manta::task(fails).remote(-1));
    FAIL("expected a task_error");
  } catch (const manta::task_error& e) {
    CHECK(e.type_name() == "std::domain_error");
    CHECK(e.message() == "no square root of -1");
    CHECK(e.node().find("pid " + std::to_string(w)) != std::string::npos);
  }
  // The runtime's own error on the worker crosses as its kind's code and is
  // raised here as its class, as it would be had the task run here (it was
  // a task_error naming "manta::invalid_argument_error" while kinds crossed
  // as type names).
  try {
    manta::get(manta::task(reads_empty_ref).remote(0));
    FAIL("expected invalid_argument_error");
  } catch (const manta::invalid_argument_error& e) {
    CHECK(manta::detail::kind_of(e) == manta::detail::error_kind::invalid_argument);
    CHECK(std::string{e.what()}.find("empty") != std::string::npos);
  }
  // Registered here (the driver) only, after the workers started.
  manta::detail::register_function(reinterpret_cast<const void*>(&driver_only), "driver_only",
                                   typeid(driver_only), manta::detail::invoker_for(&driver_only));
  try {
    manta::get(manta::task(driver_only).remote(1));
    FAIL("expected unknown_function_error");
  } catch (const manta::unknown_function_error& e) {
    CHECK(std::string{e.what()}.find("driver_only") != std::string::npos);
  }
}

TEST_CASE("remote task rate") {
  manta::local_cluster c;
  c.add_worker(1);
  c.add_worker(1);
  c.join(0);
  constexpr int n = 2000;
  auto start = steady::now();
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i)
    refs.push_back(manta::task(add).remote(i, 1));
  auto values = manta::get(refs);
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  MESSAGE(n << " remote tasks in " << secs << " s: " << (n / secs) << " tasks/s");
  for (int i = 0; i < n; ++i)
    CHECK(values[static_cast<size_t>(i)] == i + 1);
}

TEST_CASE("kill -9 of a worker: every result still arrives, once, correct") {
  manta::local_cluster c;
  auto victim = c.add_worker(2);
  c.add_worker(2);
  c.join(0);
  // Two 2 MiB results stored on different nodes (each stays where it was made).
  auto b1 = manta::task(blob).remote(2u << 20, 1, 100);
  auto b2 = manta::task(blob).remote(2u << 20, 2, 100);
  manta::wait(std::vector{b1, b2}, 2, 10s);
  REQUIRE(b1.slot()->remote() != nullptr);
  REQUIRE(b2.slot()->remote() != nullptr);
  CHECK(b1.slot()->remote()->node != b2.slot()->remote()->node);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 24; ++i)
    refs.push_back(manta::task(square_slowly).remote(i, 100));
  // Let some finish, then kill a node mid-run.
  manta::wait(refs, 4, 10s);
  auto killed_at = steady::now();
  c.kill_worker(victim, 2);
  auto detected = c.wait_for_cpus(2);
  MESSAGE(
    "node failure detected after "
    << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - killed_at).count()
    << " ms (" << detected.count() << " ms of polling)");
  for (int i = 0; i < 24; ++i)
    CHECK(manta::get(refs[static_cast<size_t>(i)], 20s) == i * i);
  // The object that lived on the dead node is rebuilt from its lineage.
  CHECK(matches_pattern(*manta::get_shared(b1), 2u << 20, 1));
  CHECK(matches_pattern(*manta::get_shared(b2), 2u << 20, 2));
}

TEST_CASE("a worker that hangs (SIGSTOP) is declared dead by heartbeats; its tasks run elsewhere") {
  manta::local_cluster c;
  auto hung = c.add_worker(2);
  c.add_worker(2);
  c.join(0);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 16; ++i)
    refs.push_back(manta::task(square_slowly).remote(i, 100));
  std::vector<manta::object_id> ids;
  for (auto& r : refs)
    ids.push_back(r.id());
  REQUIRE(manta_test::wait_until_sent(ids)); // both nodes have tasks in flight
  ::kill(hung, SIGSTOP);             // its connection stays open: no down message
  auto t0 = steady::now();
  c.wait_for_cpus(2, 15s);           // the driver gives up on it
  auto detected = std::chrono::duration<double>(steady::now() - t0).count();
  MESSAGE("hung node declared dead after " << detected << " s");
  CHECK(detected < 8.0);
  for (int i = 0; i < 16; ++i)
    CHECK(manta::get(refs[static_cast<size_t>(i)], 30s) == i * i);
  ::kill(hung, SIGCONT); // it wakes up; its late answers are ignored
  for (int i = 0; i < 4; ++i)
    CHECK(manta::get(manta::task(add).remote(i, 1), 10s) == i + 1);
  c.kill_worker(hung, 2);
}

TEST_CASE("what cannot be recovered fails with object_lost_error") {
  manta::local_cluster c;
  auto w1 = c.add_worker(1);
  c.join(0);
  auto kept = manta::task(blob).max_retries(0).remote(2u << 20, 7, 0);
  auto rebuilt = manta::task(blob).remote(2u << 20, 8, 0);
  manta::wait(std::vector{kept, rebuilt}, 2, 10s);
  auto slow = manta::task(pid_after).max_retries(0).remote(5000);
  REQUIRE(manta_test::wait_until_sent({slow.id()})); // on w1 (the only worker) now
  c.add_worker(1);
  c.wait_for_cpus(2);
  c.kill_worker(w1, 1);
  c.wait_for_cpus(1);
  auto start = steady::now();
  CHECK_THROWS_AS(manta::get(slow), manta::object_lost_error);
  CHECK_THROWS_AS(manta::get_shared(kept), manta::object_lost_error);
  CHECK(std::chrono::duration<double>(steady::now() - start).count() < 5.0);
  CHECK(matches_pattern(*manta::get_shared(rebuilt), 2u << 20, 8));
}

TEST_CASE("a chain of large results lost with their node is rebuilt link by link, each within "
          "its own retries") {
  manta::local_cluster c;
  auto w1 = c.add_worker(1);
  c.join(0);
  // Three links made and kept on w1 (the only worker); the program keeps
  // only the last one's ref: its lineage keeps the others alive.
  auto last = manta::task(mix).remote(
    manta::task(mix).remote(manta::task(blob).remote(2u << 20, 11, 0), 1), 2);
  // Two links whose first cannot be rebuilt (no retries).
  auto first = manta::task(blob).max_retries(0).remote(2u << 20, 12, 0);
  auto second = manta::task(mix).remote(first, 3);
  auto [done, pending] = manta::wait(std::vector{last, second}, 2, 30s);
  REQUIRE(done.size() == 2);
  REQUIRE(last.slot()->remote() != nullptr);
  REQUIRE(second.slot()->remote() != nullptr);
  c.add_worker(1);
  c.wait_for_cpus(2);
  c.kill_worker(w1, 1);
  c.wait_for_cpus(1);
  // Reading the last link rebuilds the first, then the second, then it.
  CHECK(matches_pattern(*manta::get_shared(last, 30s), 2u << 20, 11, 1 ^ 2));
  // The second link's rebuild needs the first, whose budget is spent: it
  // fails saying which argument is lost and why.
  std::string why;
  try {
    manta::get_shared(second, 30s);
  } catch (const manta::object_lost_error& e) {
    why = e.what();
  }
  MESSAGE(why);
  CHECK(why.find("it could not be rebuilt: argument 1 of its task 'mix' is lost: its node")
        != std::string::npos);
  CHECK(why.find("no retries left to rebuild it") != std::string::npos);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
