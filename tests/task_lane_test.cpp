// The direct task lane (MANTA_TASK_LANE=1, set for this test in
// tests/meson.build; net/task_lane.hpp): a driver's tasks go to a worker on
// a connection to its data path and the answers its pool threads give come
// back on it, while the cluster client and the worker's node manager keep
// their books. Each case checks that the lane carried the task (its
// counters) and that what the usual path guarantees still holds: a worker
// killed mid-task (retry, or object_lost_error without retries), a large
// result held on the worker and made once, a retryable failure, cancel
// while running and queued, printed lines. Real node processes (this
// binary is head, workers and driver: cluster_main.hpp), on plain TCP
// (the same lane in a TLS cluster: task_lane_tls_test.cpp).

#include "actors/lane_direct.hpp"
#include "actors/task_lanes.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/lane_tasks.hpp"
#include "tests/loopback_socket.hpp"

#include <manta/manta.hpp>
#include <manta/net/task_lane.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <csignal>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Counts its run in `path` and returns 4 MiB: held on the worker.
std::vector<char> big(std::string path) {
  append(path, "ran");
  return std::vector<char>(4u << 20, 'x');
}
MANTA_REMOTE(big);

/// Prints `n` lines.
int chatty(int n) {
  for (int i = 0; i < n; ++i)
    std::cout << "lane line " << i << std::endl;
  return n;
}
MANTA_REMOTE(chatty);

/// The worker's count of specs its data path hosted itself.
uint64_t worker_direct_specs() {
  return manta::get(manta::task(direct_specs).remote(), 20s);
}

std::string scratch(const std::string& name) {
  return manta_test::scratch_dir("task_lane", name);
}

/// A worker of `cpus` CPUs, joined by this driver with none of its own
/// (every task goes to the worker), its lane up.
pid_t lane_worker(manta::local_cluster& c, double cpus = 1) {
  auto pid = c.add_worker(cpus);
  c.join(0);
  wait_for_lane();
  return pid;
}

/// Waits (up to 20 s) until `path` holds `n` lines "ran ...".
bool runs_reach(const std::string& path, size_t n) {
  for (auto until = steady::now() + 20s;
       manta_test::count_of(manta_test::read_all(path), "ran ") < n;) {
    if (steady::now() >= until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// A driver of the test's cluster (runtime folder `dir`), started by
/// `spawn` (--lane-driver): sends a slow task to the worker on its lane,
/// which the worker's data path hands to its pool, says "ready direct=N"
/// (N: the worker's count of such specs since before it) in
/// DIR/driver.status once the task runs, and waits to be killed.
int lane_driver_main(const std::string& dir) {
  auto status = dir + "/driver.status";
  auto opts = manta_test::second_driver_options(dir, 0);
  opts.tls = plain();
  manta::init(opts);
  if (!manta_test::wait_for_cluster_cpus(4, 30s)) {
    append(status, "error: the worker did not connect");
    return 2;
  }
  // Its lane is up once a task went on it (no doctest checks here: this
  // process runs no test case).
  for (auto until = steady::now() + 20s; lane::specs_sent() == 0;) {
    if (steady::now() >= until) {
      append(status, "error: no lane");
      return 2;
    }
    manta::get(manta::task(plus_one).remote(1), 20s);
  }
  auto before = worker_direct_specs();
  auto r = manta::task(slow_pid).remote(dir + "/orphan", 60000);
  if (!manta_test::wait_for_text(dir + "/orphan", "started in", 30s)) {
    append(status, "error: the task did not start");
    return 2;
  }
  // The slow task and the reading one, both direct: the worker's 4 CPUs
  // leave room for the reading task even while the thread of the one
  // before it has not given its CPU back yet (as in the cases above).
  append(status, "ready direct=" + std::to_string(worker_direct_specs() - before));
  std::this_thread::sleep_for(600s); // until killed
  return r.id().valid() ? 0 : 1;
}

/// Cancels `running`, a `slow_pid` task that started writing to `path`:
/// its `get` says so within 2 s, and the task saw it.
void cancel_running(const manta::object_ref<int>& running, const std::string& path) {
  auto t0 = steady::now();
  manta::cancel(running);
  CHECK_THROWS_AS(manta::get(running, 10s), manta::task_cancelled_error);
  CHECK(std::chrono::duration<double>(steady::now() - t0).count() < 2.0);
  CHECK(manta_test::wait_for_text(path, "cancelled", 10s));
}

} // namespace

TEST_CASE("a lone task goes on the lane and its answer comes back on it") {
  manta::local_cluster c{plain()};
  lane_worker(c); // every task goes to the worker
  check_lone_tasks_on_lane();
  check_large_answer_on_lane();
}

TEST_CASE("the claims table ends each task once, by the reader or by the client") {
  // A lane's reader (`take`, of the node the task was sent to) and the
  // client (`claim`: a node's loss, another answer, a steal) race for
  // each entry: exactly one of them wins it.
  manta::actors::lane_claims claims;
  constexpr uint64_t n = 20000;
  for (uint64_t id = 1; id <= n; ++id)
    claims.add(id, static_cast<uint16_t>(1 + id % 2), 10 + id % 3, 1, nullptr);
  CHECK_FALSE(claims.take(1, 1)); // sent to node 2: node 1's reader has no say
  CHECK(claims.size() == n);
  // Each entry counted on the lane it went on (a retired lane closes at 0).
  CHECK(claims.on_lane(10) + claims.on_lane(11) + claims.on_lane(12) == n);
  CHECK(claims.key_of(4) == 11);
  CHECK_FALSE(claims.claim_on(4, 10)); // not the lane it went on: stays
  CHECK(claims.size() == n);
  std::vector<char> by_reader(n + 1, 0);
  std::vector<char> by_client(n + 1, 0);
  std::thread reader{[&] {
    for (uint64_t id = 1; id <= n; ++id)
      if (auto e = claims.take(id, static_cast<uint16_t>(1 + id % 2))) {
        CHECK(e->node == 1 + id % 2);
        by_reader[id] = 1;
      }
  }};
  std::thread client{[&] {
    for (uint64_t id = n; id >= 1; --id)
      if (claims.claim(id))
        by_client[id] = 1;
  }};
  reader.join();
  client.join();
  uint64_t once = 0;
  for (uint64_t id = 1; id <= n; ++id)
    once += by_reader[id] + by_client[id] == 1 ? 1 : 0;
  CHECK(once == n);
  CHECK(claims.size() == 0);
  CHECK(claims.on_lane(10) + claims.on_lane(11) + claims.on_lane(12) == 0);
  CHECK_FALSE(claims.claim(7)); // gone: a late claim finds the reader's
}

TEST_CASE("a worker killed while answers are sealed on the lane: every result once") {
  // Lone tasks (a worker answers on the lane while it hosts one task)
  // from two threads, one round trip after another; the first worker is
  // killed meanwhile. Answers read on its lane race with the client's
  // handling of its loss: whichever claims a task first ends it, so each
  // task is answered there (once) or placed again on the other worker.
  manta::local_cluster c{plain()};
  auto w1 = lane_worker(c);
  lone_task_streams streams{2, 200};
  auto wait_sealed = [](uint64_t n) {
    auto until = steady::now() + 60s;
    while (manta::actors::lane_count(manta::actors::lane_event::sealed) < n
           && steady::now() < until)
      std::this_thread::sleep_for(1ms);
    return manta::actors::lane_count(manta::actors::lane_event::sealed) >= n;
  };
  c.add_worker(1);
  c.wait_for_cpus(2);
  CHECK(wait_sealed(manta::actors::lane_count(manta::actors::lane_event::sealed) + 200));
  c.kill_worker(w1, 1);
  // Tasks go on, on the other worker's lane.
  CHECK(wait_sealed(manta::actors::lane_count(manta::actors::lane_event::sealed) + 200));
  streams.stop();
  CHECK(streams.wrong() == 0);
  CHECK(streams.done() > 400);
}

TEST_CASE("a worker killed with -9 mid-task: the task runs again on another") {
  manta::local_cluster c{plain()};
  auto w1 = lane_worker(c);
  auto dir = scratch("kill");
  check_lane_worker_killed(c, w1, dir);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a worker killed with -9 mid-task: object_lost_error without retries") {
  manta::local_cluster c{plain()};
  auto w1 = lane_worker(c);
  auto dir = scratch("lost");
  auto specs = lane::specs_sent();
  auto r = manta::task(slow_pid).max_retries(0).remote(dir + "/slow", 5000);
  REQUIRE(manta_test::wait_for_text(dir + "/slow", "started in " + std::to_string(w1), 30s));
  // The worker may start it before the client's thread, back from the
  // write, has counted the spec: wait for the count.
  CHECK(specs_reach(specs + 1));
  c.add_worker(1);
  c.wait_for_cpus(2);
  c.kill_worker(w1, 1);
  auto t0 = steady::now();
  CHECK_THROWS_AS(manta::get(r, 30s), manta::object_lost_error);
  CHECK(std::chrono::duration<double>(steady::now() - t0).count() < 10.0);
  // The task ran once, on the dead worker.
  CHECK(manta_test::count_of(manta_test::read_all(dir + "/slow"), "started in") == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a 4 MiB result is held on the worker and made exactly once") {
  manta::local_cluster c{plain()};
  lane_worker(c);
  auto dir = scratch("held");
  auto specs = lane::specs_sent();
  auto r = manta::task(big).remote(dir + "/runs");
  auto value = manta::get(r, 30s);
  CHECK(lane::specs_sent() == specs + 1);
  CHECK(value.size() == (4u << 20));
  CHECK(value.front() == 'x');
  CHECK(value.back() == 'x');
  CHECK(manta_test::count_of(manta_test::read_all(dir + "/runs"), "ran") == 1);
  // A later lone task still goes on the lane, and the held one ran once.
  CHECK(manta::get(manta::task(plus_one).remote(5), 20s) == 6);
  CHECK(manta_test::count_of(manta_test::read_all(dir + "/runs"), "ran") == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a retryable failure goes back to the driver, which places the task again") {
  manta::local_cluster c{plain()};
  lane_worker(c);
  auto dir = scratch("retry");
  check_lane_retry(dir);
  // Without retries the same failure is the task's.
  auto once = manta::task(flaky).max_retries(0).retry_exceptions(true).remote(dir + "/once");
  CHECK_THROWS(manta::get(once, 30s));
  CHECK(manta_test::count_of(manta_test::read_all(dir + "/once"), "try") == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cancel of a lane task while it runs and while it queues") {
  manta::local_cluster c{plain()};
  auto worker = lane_worker(c);
  auto dir = scratch("cancel");
  check_lane_cancel(worker, dir);
  std::filesystem::remove_all(dir);
}

TEST_CASE("lines a lane task prints reach the driver before its result") {
  manta::local_cluster c{plain()};
  lane_worker(c);
  for (int round = 0; round < 5; ++round) {
    auto specs = lane::specs_sent();
    auto r = manta::task(chatty).remote(4);
    CHECK(manta::get(r, 20s) == 4);
    CHECK(lane::specs_sent() == specs + 1);
    auto lines = manta::task_logs(r.id());
    REQUIRE(lines.size() == 4);
    for (int i = 0; i < 4; ++i)
      CHECK(lines[static_cast<size_t>(i)].find("lane line " + std::to_string(i))
            != std::string::npos);
  }
}

TEST_CASE("a lane shut while it connects stays closed, and its reader returns") {
  // The cluster client drops a worker's lane when the worker is lost or
  // attached again, which may come before the reader's thread connected:
  // that connect must not open a lane nobody shuts any more (its reader
  // would wait in recv as long as the worker lives, and the client's end,
  // which joins it, with it: the driver hung at shutdown).
  uint16_t port = 0;
  int listener = manta_test::tcp_listen(port);
  REQUIRE(listener >= 0);
  auto lane_client = std::make_shared<lane::client>();
  lane_client->shut();
  CHECK_FALSE(lane_client->connect("127.0.0.1", port, "token", 1).empty());
  CHECK_FALSE(lane_client->up());
  std::atomic<bool> returned{false};
  std::thread reader{[&] {
    lane_client->read_loop([](uint64_t, std::vector<char>, std::vector<char>) {});
    returned = true;
  }};
  for (auto until = steady::now() + 5s; !returned && steady::now() < until;)
    std::this_thread::sleep_for(1ms);
  CHECK(returned);
  lane_client->shut(); // ends a reader that (wrongly) connected
  reader.join();
  ::close(listener);
}

TEST_CASE("lone lane tasks go from the worker's data path to its pool, not through its node "
          "manager") {
  manta::local_cluster c{plain()};
  // Four CPUs: a task's CPU may still be taken when its answer is in (its
  // thread answers before it gives the CPU back, and may be descheduled
  // between the two on a busy machine): the next spec finds another free.
  lane_worker(c, 4);
  auto before = worker_direct_specs();
  for (int i = 0; i < 50; ++i) {
    auto answers = lane::answers_read();
    CHECK(manta::get(manta::task(plus_one).remote(i), 20s) == i + 1);
    CHECK(lane::answers_read() == answers + 1); // answered on the lane
  }
  // The 50, and the spec that reads the count.
  CHECK(worker_direct_specs() == before + 51);
}

TEST_CASE("cancel of a task the data path handed to the pool, while it runs") {
  manta::local_cluster c{plain()};
  auto worker = lane_worker(c, 4); // room for the next spec: as above
  auto dir = scratch("cancel_direct");
  auto before = worker_direct_specs();
  auto running = manta::task(slow_pid).remote(dir + "/running", 20000);
  REQUIRE(manta_test::wait_for_text(dir + "/running", "started in " + std::to_string(worker), 30s));
  CHECK(worker_direct_specs() == before + 2); // it went directly, as the reading task did
  cancel_running(running, dir + "/running");
  // Lone tasks go directly again.
  CHECK(manta::get(manta::task(mark).remote(dir + "/later"), 20s) == 2);
  CHECK(worker_direct_specs() == before + 4); // and the later one, and this reading one
  std::filesystem::remove_all(dir);
}

TEST_CASE("lines a task the data path handed to the pool prints reach the driver before its "
          "result") {
  manta::local_cluster c{plain()};
  lane_worker(c, 4); // room for the next spec: as above
  for (int round = 0; round < 5; ++round) {
    auto before = worker_direct_specs();
    auto r = manta::task(chatty).remote(4);
    CHECK(manta::get(r, 20s) == 4);
    auto lines = manta::task_logs(r.id());
    REQUIRE(lines.size() == 4);
    for (int i = 0; i < 4; ++i)
      CHECK(lines[static_cast<size_t>(i)].find("lane line " + std::to_string(i))
            != std::string::npos);
    CHECK(worker_direct_specs() == before + 2); // chatty's spec and the reading one
  }
}

TEST_CASE("a task the data path handed to the pool is cancelled when its owner dies") {
  // The owner's connection closes with its kill; after this grace the
  // worker drops what it left, its running tasks cancelled.
  ::setenv("MANTA_CONNECTION_TIMEOUT", "2s", 1);
  manta::local_cluster c{plain()};
  auto worker = c.add_worker(4); // room for the reading task: lane_driver_main
  auto log = c.dir() + "/driver.log";
  auto pid = c.spawn({"--lane-driver", c.dir()}, log);
  auto status = c.dir() + "/driver.status";
  bool ready = manta_test::wait_for_text(status, "ready", 60s);
  INFO("driver status:\n"
       << manta_test::read_all(status) << "\ndriver log:\n"
       << manta_test::read_all(log));
  REQUIRE(ready);
  CHECK(manta_test::read_all(status).find("ready direct=2") != std::string::npos);
  CHECK(manta::detail::task_lane::enabled());
  auto orphan = c.dir() + "/orphan";
  CHECK(manta_test::count_of(manta_test::read_all(orphan), "started in " + std::to_string(worker))
        == 1);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  CHECK(manta_test::wait_for_text(orphan, "cancelled", 30s));
  ::unsetenv("MANTA_CONNECTION_TIMEOUT");
}

TEST_CASE("a lane that breaks while its node's connection lives: its tasks are sent again") {
  // A lane broken alone (a middlebox resetting one flow): the specs and
  // answers in flight on it are lost, the node's CAF connection lives on.
  // The driver sends each task still out on it again over CAF, and opens
  // the lane again.
  manta::local_cluster c{plain()};
  lane_worker(c, 8);
  auto dir = scratch("break");
  auto runs = dir + "/runs";
  auto resent = manta::actors::lane_count(manta::actors::lane_event::resent);
  // A (1), the lone task hosted there (its thread answers on the lane):
  // its answer is lost on its way.
  auto ar = manta::task(gated).remote(runs, dir + "/gate_a", 1);
  REQUIRE(runs_reach(runs, 1));
  lane::lose_lanes_for_tests(false);
  auto answers = lane::answers_read();
  append(dir + "/gate_a", "go");
  for (auto until = steady::now() + 20s; lane::answers_read() < answers + 1;) {
    REQUIRE(steady::now() < until); // read and dropped
    std::this_thread::sleep_for(1ms);
  }
  // C (7) runs on until the lane is broken.
  auto cr = manta::task(gated).remote(runs, dir + "/gate_c", 7);
  REQUIRE(runs_reach(runs, 2));
  // B (4..6): their specs are lost on their way.
  lane::lose_lanes_for_tests(true);
  append(dir + "/gate_b", "go");
  auto specs = lane::specs_sent();
  std::vector<manta::object_ref<int>> b;
  for (int x = 4; x <= 6; ++x)
    b.push_back(manta::task(gated).remote(runs, dir + "/gate_b", x));
  REQUIRE(specs_reach(specs + 3));
  CHECK(lane::break_lanes_for_tests() == 1);
  append(dir + "/gate_c", "go");
  CHECK(manta::get(ar, 30s) == 10);
  for (int x = 4; x <= 6; ++x)
    CHECK(manta::get(b[x - 4], 30s) == x * 10);
  CHECK(manta::get(cr, 30s) == 70);
  CHECK(manta::actors::lane_count(manta::actors::lane_event::resent) == resent + 5);
  auto text = manta_test::read_all(runs);
  INFO("runs:\n" << text);
  for (int x = 4; x <= 6; ++x) // they never reached the worker before
    CHECK(manta_test::count_of(text, "ran " + std::to_string(x) + "\n") == 1);
  // A and C ran once (their run adopted by the spec sent again) or twice
  // (it ended there, its answer lost on the lane): a retry, as the usual
  // path makes after a cut connection.
  for (int x : {1, 7}) {
    auto n = manta_test::count_of(text, "ran " + std::to_string(x) + "\n");
    CHECK(n >= 1);
    CHECK(n <= 2);
  }
  // The lane opens again: new tasks go on it, their answers sealed there.
  auto sealed = manta::actors::lane_count(manta::actors::lane_event::sealed);
  wait_for_lane();
  CHECK(manta::actors::lane_count(manta::actors::lane_event::sealed) > sealed);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a lane that stalls while its node's connection lives is reset, its tasks sent again") {
  // Nothing moves on the lane any more and nothing resets it (a flow
  // dropped on its way): its pings go unanswered while the node's CAF
  // connection is heard, so the driver resets it after the connection
  // timeout and sends its tasks again.
  ::setenv("MANTA_CONNECTION_TIMEOUT", "2s", 1);
  manta::local_cluster c{plain()};
  lane_worker(c, 4);
  auto dir = scratch("stall");
  auto runs = dir + "/runs";
  append(dir + "/gate", "go");
  auto resent = manta::actors::lane_count(manta::actors::lane_event::resent);
  lane::lose_lanes_for_tests(true);
  auto specs = lane::specs_sent();
  std::vector<manta::object_ref<int>> r;
  for (int x = 1; x <= 3; ++x)
    r.push_back(manta::task(gated).remote(runs, dir + "/gate", x));
  REQUIRE(specs_reach(specs + 3));
  for (int x = 1; x <= 3; ++x)
    CHECK(manta::get(r[x - 1], 30s) == x * 10);
  CHECK(manta::actors::lane_count(manta::actors::lane_event::resent) == resent + 3);
  auto text = manta_test::read_all(runs);
  INFO("runs:\n" << text);
  for (int x = 1; x <= 3; ++x) // lost on their way: they ran once, sent again
    CHECK(manta_test::count_of(text, "ran " + std::to_string(x) + "\n") == 1);
  wait_for_lane(); // a new lane
  std::filesystem::remove_all(dir);
  ::unsetenv("MANTA_CONNECTION_TIMEOUT");
}

TEST_CASE("a worker whose lanes keep breaking gets a new one less and less often") {
  manta::actors::task_lanes lanes;
  CHECK(lanes.broke(1) == 100ms);
  CHECK(lanes.broke(1) == 200ms);
  CHECK(lanes.broke(1) == 400ms);
  CHECK(lanes.broke(2) == 100ms); // per worker
  for (int i = 0; i < 10; ++i)
    lanes.broke(1);
  CHECK(lanes.broke(1) == 10s);
}

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--lane-driver")
      return lane_driver_main(argv[i + 1]);
  return manta_test::cluster_test_main(argc, argv);
}
