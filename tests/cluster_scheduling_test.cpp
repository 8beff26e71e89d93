// Scheduling across nodes (docs/cluster.md, "Queued tasks and work
// stealing"): no task waits in one worker's queue while another node has a
// free CPU, and a task queued on a worker shows as WAITING_FOR_RESOURCES
// there in the driver's view, the head's and `manta why`. This binary is
// the head, the workers and the driver (tests/cluster_main.hpp).

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/worker_cluster.hpp"
#include "tools/http_client.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <boost/json/src.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Sleeps `ms`, then says which process ran it.
int nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return static_cast<int>(::getpid());
}

MANTA_REMOTE(nap);

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

/// This driver's record of task `id`, if it lists one.
std::optional<manta::task_info> driver_record(manta::object_id id) {
  for (auto& t : manta::list_tasks())
    if (t.id == id)
      return t;
  return std::nullopt;
}

} // namespace

TEST_CASE("short tasks do not wait behind a long one while another worker is idle") {
  // Both workers are up and known: the long task goes to one of them.
  manta_test::worker_cluster w{2, /*worker_cpus=*/1, /*driver_cpus=*/0};
  auto start = steady::now();
  auto long_one = manta::task(nap).remote(5000);
  std::vector<manta::object_ref<int>> shorts;
  for (int i = 0; i < 8; ++i)
    shorts.push_back(manta::task(nap).remote(50));
  auto [ready, pending] = manta::wait(shorts, shorts.size(), 20s);
  auto took = seconds_since(start);
  MESSAGE("8 x 50 ms beside a 5 s task took " << took << " s");
  REQUIRE(ready.size() == shorts.size());
  // Ideal: 8 x 50 ms on the one free CPU = 0.4 s. Today's placement queued
  // half of them behind the long task (5.2 s).
  CHECK(took < 2.0);
  auto [done, running] = manta::wait(std::vector{long_one}, 1, 0ms);
  CHECK(done.empty()); // the long one still runs: the short ones did not wait for it
  int long_pid = manta::get(long_one, 20s);
  CHECK((long_pid == w.pids[0] || long_pid == w.pids[1]));
}

TEST_CASE("fairness: short tasks mixed with long ones finish near the ideal") {
  manta_test::worker_cluster w{2, /*worker_cpus=*/1, /*driver_cpus=*/0};
  // Two 1.5 s tasks and 30 x 40 ms (1.2 s of work): ideal = (3 + 1.2) / 2
  // = 2.1 s; queued behind the long ones it would be about 3 s.
  auto start = steady::now();
  std::vector<manta::object_ref<int>> all;
  for (int i = 0; i < 32; ++i)
    all.push_back(manta::task(nap).remote(i % 16 == 0 ? 1500 : 40));
  auto [ready, pending] = manta::wait(all, all.size(), 30s);
  auto took = seconds_since(start);
  MESSAGE("2 x 1.5 s + 30 x 40 ms on 2 CPUs took " << took << " s (ideal 2.1 s)");
  REQUIRE(ready.size() == all.size());
  CHECK(took < 3.0); // 2.43-2.51 s in 10 runs beside a build; 3.56 s before stealing
}

TEST_CASE("a task queued on a worker for a CPU is WAITING_FOR_RESOURCES there everywhere") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(/*local_cpus=*/0);
  auto node = "node-" + std::to_string(manta_test::sole_worker_node());
  auto busy = manta::task(nap).remote(3000);
  auto queued = manta::task(nap).remote(10);
  auto id = queued.id();

  // The driver's view, once the worker said it queued.
  std::optional<manta::task_info> mine;
  for (auto until = steady::now() + 10s; steady::now() < until; std::this_thread::sleep_for(10ms)) {
    mine = driver_record(id);
    if (mine && mine->state == manta::task_state::waiting_for_resources && mine->node == node)
      break;
  }
  REQUIRE(mine.has_value());
  CHECK(mine->state == manta::task_state::waiting_for_resources);
  CHECK(mine->node == node);

  // `manta why` names the node and what the task waits for.
  auto why = manta::why(id);
  INFO(why);
  CHECK(why.find("WAITING_FOR_RESOURCES") != std::string::npos);
  CHECK(why.find("waits for resources on " + node) != std::string::npos);
  CHECK(why.find("CPU") != std::string::npos);

  // The head's view: the worker's record of it.
  auto r = manta::tools::http_get(c.dashboard_address(), "/api/tasks?state=WAITING_FOR_RESOURCES");
  INFO(r.error << " " << r.body.substr(0, 300));
  REQUIRE(r.status == 200);
  bool listed = false;
  auto rows = json::parse(r.body);
  for (auto& x : rows.as_array()) {
    auto& o = x.as_object();
    if (json::value_to<std::string>(o.at("id")) == manta::to_string(id)) {
      listed = true;
      CHECK(json::value_to<std::string>(o.at("node")).rfind(node + " (pid ", 0) == 0);
    }
  }
  CHECK(listed);

  // Once the CPU is free it runs, and says so.
  CHECK(manta::get(queued, 20s) > 0);
  CHECK(manta::get(busy, 20s) > 0);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
