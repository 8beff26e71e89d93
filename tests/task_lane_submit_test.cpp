// The lane door (actors/lane_door.hpp, MANTA_TASK_LANE=1 set for this test
// in tests/meson.build): a lone plain task's spec is written on its
// worker's task lane by the thread that submits it, not by the cluster
// client actor, and the client books it afterwards. Each case checks who
// wrote the spec (the counters) and that the books stay exact where the
// client's own path keeps them: the choice of worker, a worker killed with
// -9 (a retry, or object_lost_error without retries; every value once),
// a lane broken while its node lives (its tasks sent again), cancel.
// Real node processes on plain TCP (cluster_main.hpp).

#include "actors/lane_door.hpp"
#include "actors/task_lanes.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/lane_tasks.hpp"

#include <manta/manta.hpp>
#include <manta/net/task_lane.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
namespace {

/// Who wrote the lane specs so far: the submitting threads, the client.
uint64_t lane_specs_by_submitter() {
  return manta::actors::lane_count(manta::actors::lane_event::spec_by_submitter);
}
uint64_t lane_specs_by_client() {
  return manta::actors::lane_count(manta::actors::lane_event::spec_by_client);
}

std::string scratch(const std::string& name) {
  return manta_test::scratch_dir("task_lane_submit", name);
}

/// Waits (up to 20 s) until `f()` holds.
template <class F>
bool eventually(F f) {
  for (auto until = steady::now() + 20s; !f();) {
    if (steady::now() >= until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// A worker of `cpus` CPUs, joined by this driver with none of its own
/// (every task goes to a worker), its lane up and known to the submitting
/// threads: a lone task's spec went through the door.
pid_t door_worker(manta::local_cluster& c, double cpus = 1) {
  auto pid = c.add_worker(cpus);
  c.join(0);
  REQUIRE(lane::enabled());
  auto before = lane_specs_by_submitter();
  REQUIRE(eventually([&] {
    CHECK(manta::get(manta::task(plus_one).remote(1), 20s) == 2);
    return lane_specs_by_submitter() > before;
  }));
  return pid;
}

/// Waits (up to 20 s) until `path` holds `n` lines "ran ...".
bool runs_reach(const std::string& path, size_t n) {
  return eventually([&] { return manta_test::count_of(manta_test::read_all(path), "ran ") >= n; });
}

} // namespace

TEST_CASE("a lone task's spec is written by the submitting thread, not by the cluster client") {
  manta::local_cluster c{plain()};
  c.add_worker(1);
  c.join(0);
  REQUIRE(lane::enabled());
  // The lane is up once a spec went on it (whoever wrote it).
  auto first = lane::specs_sent();
  REQUIRE(eventually([&] {
    CHECK(manta::get(manta::task(plus_one).remote(1), 20s) == 2);
    return lane::specs_sent() > first;
  }));
  for (int i = 0; i < 50; ++i) {
    auto specs = lane::specs_sent();
    auto by_client = lane_specs_by_client();
    auto by_submitter = lane_specs_by_submitter();
    auto sealed = manta::actors::lane_count(manta::actors::lane_event::sealed);
    CHECK(manta::get(manta::task(plus_one).remote(i), 20s) == i + 1);
    CHECK(lane::specs_sent() == specs + 1);
    CHECK(lane_specs_by_client() == by_client); // the client wrote nothing
    CHECK(lane_specs_by_submitter() == by_submitter + 1);
    CHECK(manta::actors::lane_count(manta::actors::lane_event::sealed) == sealed + 1);
  }
  // A task with an object argument is the client's (it reads it).
  auto by_client = lane_specs_by_client();
  auto x = manta::put(41);
  CHECK(manta::get(manta::task(plus_one).remote(x), 20s) == 42);
  CHECK(lane_specs_by_client() == by_client + 1);
}

TEST_CASE("the submitting thread places by the client's rule: the least-loaded worker") {
  // Two 1-CPU workers: while a long task runs on one, the next goes to the
  // other (the first's CPU is held in the door's view, booked by the
  // client or not yet; the warm-up's CPUs freed by the readers that sealed
  // their answers).
  manta::local_cluster c{plain()};
  door_worker(c);
  c.add_worker(1);
  c.wait_for_cpus(2);
  auto dir = scratch("choice");
  // Both lanes up and published: lone tasks go through the door to each.
  auto before = lane_specs_by_submitter();
  REQUIRE(eventually([&] {
    auto a = manta::task(nap_plus_one).remote(1, 20000);
    auto b = manta::task(nap_plus_one).remote(2, 20000);
    CHECK(manta::get(a, 20s) == 2);
    CHECK(manta::get(b, 20s) == 3);
    return lane_specs_by_submitter() >= before + 20;
  }));
  auto by_client = lane_specs_by_client();
  auto first = manta::task(slow_pid).remote(dir + "/first", 3000);
  REQUIRE(manta_test::wait_for_text(dir + "/first", "started in", 30s));
  auto second = manta::task(slow_pid).remote(dir + "/second", 10);
  auto p2 = manta::get(second, 30s);
  auto p1 = manta::get(first, 30s);
  CHECK(p1 != p2);
  CHECK(lane_specs_by_client() == by_client);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a worker killed with -9: tasks its submitters wrote run again or fail as lost") {
  manta::local_cluster c{plain()};
  auto w1 = door_worker(c);
  auto dir = scratch("kill");
  auto by_submitter = lane_specs_by_submitter();
  auto by_client = lane_specs_by_client();
  auto again = manta::task(slow_pid).max_retries(1).remote(dir + "/again", 5000);
  auto lost = manta::task(slow_pid).max_retries(0).remote(dir + "/lost", 5000);
  REQUIRE(manta_test::wait_for_text(dir + "/again", "started in " + std::to_string(w1), 30s));
  CHECK(lane_specs_by_submitter() == by_submitter + 2);
  CHECK(lane_specs_by_client() == by_client);
  auto w2 = c.add_worker(2);
  c.wait_for_cpus(3);
  c.kill_worker(w1, 1);
  // One retry: its second run, on the other worker.
  CHECK(manta::get(again, 30s) == w2);
  CHECK(manta_test::count_of(manta_test::read_all(dir + "/again"), "started in") == 2);
  // No retry: lost, after its one run (if it had started) on the dead worker.
  CHECK_THROWS_AS(manta::get(lost, 30s), manta::object_lost_error);
  CHECK(manta_test::count_of(manta_test::read_all(dir + "/lost"), "started in") <= 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a worker killed with -9 while lone tasks stream through the door: every value once") {
  // Lone tasks from three threads, one round trip after another, spread
  // over two workers; the first is killed meanwhile. Each task's answer is
  // sealed there (once) or it is placed again on the other worker, whether
  // the client had booked it yet or not.
  manta::local_cluster c{plain()};
  auto w1 = door_worker(c);
  c.add_worker(1);
  c.wait_for_cpus(2);
  auto before = lane_specs_by_submitter();
  lone_task_streams streams{3, 300};
  CHECK(eventually([&] { return lane_specs_by_submitter() >= before + 300; }));
  c.kill_worker(w1, 1);
  auto after = lane_specs_by_submitter();
  CHECK(eventually([&] { return lane_specs_by_submitter() >= after + 300; }));
  streams.stop();
  CHECK(streams.wrong() == 0);
  CHECK(streams.done() > 600);
}

TEST_CASE("a lane broken under tasks its submitters wrote: they are sent again over CAF") {
  manta::local_cluster c{plain()};
  door_worker(c, 4);
  auto dir = scratch("break");
  auto runs = dir + "/runs";
  auto resent = manta::actors::lane_count(manta::actors::lane_event::resent);
  auto by_submitter = lane_specs_by_submitter();
  std::vector<manta::object_ref<int>> refs;
  for (int x = 1; x <= 3; ++x)
    refs.push_back(manta::task(gated).remote(runs, dir + "/gate", x));
  REQUIRE(runs_reach(runs, 3));
  CHECK(lane_specs_by_submitter() == by_submitter + 3);
  CHECK(lane::break_lanes_for_tests() == 1);
  // The worker outlives its lane: each task is sent again (its run still
  // going on there is adopted, or it runs again: a retry).
  CHECK(eventually(
    [&] { return manta::actors::lane_count(manta::actors::lane_event::resent) == resent + 3; }));
  append(dir + "/gate", "go");
  for (int x = 1; x <= 3; ++x)
    CHECK(manta::get(refs[static_cast<size_t>(x - 1)], 30s) == x * 10);
  auto text = manta_test::read_all(runs);
  INFO("runs:\n" << text);
  for (int x = 1; x <= 3; ++x) {
    auto n = manta_test::count_of(text, "ran " + std::to_string(x) + "\n");
    CHECK(n >= 1);
    CHECK(n <= 2);
  }
  // The lane opens again, and lone tasks go through the door again.
  auto again = lane_specs_by_submitter();
  CHECK(eventually([&] {
    CHECK(manta::get(manta::task(plus_one).remote(1), 20s) == 2);
    return lane_specs_by_submitter() > again;
  }));
  std::filesystem::remove_all(dir);
}

TEST_CASE("cancel of a task its submitter wrote, while it runs") {
  manta::local_cluster c{plain()};
  auto worker = door_worker(c);
  auto dir = scratch("cancel");
  for (int round = 0; round < 3; ++round) {
    auto path = dir + "/running" + std::to_string(round);
    auto by_submitter = lane_specs_by_submitter();
    auto running = manta::task(slow_pid).remote(path, 20000);
    REQUIRE(manta_test::wait_for_text(path, "started in " + std::to_string(worker), 30s));
    CHECK(lane_specs_by_submitter() == by_submitter + 1);
    auto t0 = steady::now();
    manta::cancel(running);
    CHECK_THROWS_AS(manta::get(running, 10s), manta::task_cancelled_error);
    CHECK(std::chrono::duration<double>(steady::now() - t0).count() < 2.0);
    CHECK(manta_test::wait_for_text(path, "cancelled", 10s));
  }
  // The worker's CPU is free again: a lone task still runs there.
  CHECK(manta::get(manta::task(plus_one).remote(5), 20s) == 6);
  std::filesystem::remove_all(dir);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
