// Fault injection: a long run of tasks and calls of 100 actors on a head and
// three worker nodes on 127.0.0.1 while worker nodes are killed with SIGKILL
// (and replaced) three times. Every result must arrive, be correct and be
// seen once; every task runs at least once and at most 1 + max_retries
// times, and re-runs are bounded by what the killed nodes held; every actor
// restarts on a live node; no get waits past its timeout.
#include <manta/manta.hpp>

#include "actors/cluster_client.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/fault_workload.hpp"
#include "tests/cluster_main.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using manta_test::env_int;
using manta_test::lines_in;
using manta_test::runs_of;
using manta_test::sleepy;
using manta_test::tally;
using manta_test::work;

TEST_CASE(
  "10,000 tasks and 100 actors survive three kill -9 of worker nodes, each result exactly once") {
  const int n = env_int("MANTA_FAULT_TASKS", 10000);
  const int num_actors = env_int("MANTA_FAULT_ACTORS", 100);
  const int kills = 3;
  const double cpus = 1;
  const int max_retries = 3;
  manta::local_cluster c;
  auto log = c.dir() + "/runs.log";
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w)
    workers.push_back(c.add_worker(cpus));
  c.join(0); // the driver runs nothing itself: every task crosses a node
  // The actors live on the three first workers, all of which are killed:
  // each restarts (at least once) on a live node.
  auto actors = manta_test::spread_tallies(num_actors, workers);
  auto start = steady::now();
  // 2,000 calls, 20 per actor, interleaved with the tasks.
  auto [refs, calls] = manta_test::submit_workload(n, max_retries, log, actors);
  // Kill the oldest worker when 20%, 45% and 70% of the tasks have run,
  // and start a replacement each time, so the run goes on at the same width
  // while every kill lands on a busy node.
  std::vector<manta_test::timed_fault> faults;
  for (int k = 0; k < kills; ++k)
    faults.emplace_back(20 + 25 * k, [&, k] {
      c.kill_worker(workers[static_cast<size_t>(k)], cpus);
      workers.push_back(c.add_worker(cpus));
    });
  auto killed = manta_test::strike_at_shares(log, n, faults, start + 120s).size();
  REQUIRE(killed == faults.size()); // else the workload stalled
  double longest_get = 0;
  auto wrong = manta_test::wrong_work_results(refs, longest_get);
  auto wrong_calls = manta_test::wrong_step_results(calls, 5);
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  CHECK(wrong == 0);
  CHECK(wrong_calls == 0);
  int fewest_restarts = 1 << 30;
  for (auto& a : actors)
    fewest_restarts = std::min(fewest_restarts, manta::get(a.call(&tally::restarts).remote(), 30s));
  CHECK(fewest_restarts >= 1);
  // A second read sees the same single value (results are sealed once).
  for (int i = 0; i < n; i += 97)
    CHECK(manta::get(refs[static_cast<size_t>(i)], 1s) == int64_t{i} * i + 7);
  auto [runs, per_process] = runs_of(log);
  // Every killed worker was busy until it died, and replacements took over.
  int replacements_used = 0;
  for (size_t w = 0; w < workers.size(); ++w) {
    auto k = per_process.count(workers[w]) ? per_process[workers[w]] : 0;
    MESSAGE("worker " << w << " (pid " << workers[w] << ") ran " << k << " tasks");
    if (w < static_cast<size_t>(kills))
      CHECK(k > 0);
    else
      replacements_used += k > 0;
  }
  CHECK(replacements_used >= 1);
  CHECK(runs.size() == static_cast<size_t>(n)); // every task ran
  auto [extra, most] = manta_test::reruns_in(runs);
  CHECK(most <= 1 + max_retries);
  // Only tasks placed on a killed node run again: at most its in-flight
  // window (remote_queue_factor x its CPUs) per kill.
  CHECK(extra <= static_cast<int64_t>(kills * manta::actors::remote_queue_factor * cpus));
  MESSAGE(n << " tasks and " << calls.size() << " calls of " << num_actors << " actors, " << kills
            << " worker kills in " << secs << " s (" << static_cast<int>(n / secs)
            << " tasks/s); every actor restarted at least " << fewest_restarts << " time(s); "
            << extra << " re-runs, at most " << most << " runs of one task; longest get "
            << static_cast<int>(longest_get * 1000) << " ms");
  CHECK(longest_get < 30.0);
}

TEST_CASE("a get with a timeout returns by its deadline while a node is killed") {
  manta::local_cluster c;
  auto w = c.add_worker(1);
  c.join(0);
  auto slow = manta::task(sleepy).max_retries(0).remote(3000);
  REQUIRE(manta_test::wait_until_sent({slow.id()})); // on the worker (the only one) now
  auto t0 = steady::now();
  CHECK_THROWS_AS(manta::get(slow, 100ms), manta::get_timeout_error);
  CHECK(steady::now() - t0 < 1s);
  c.kill_worker(w, 1);
  t0 = steady::now();
  CHECK_THROWS_AS(manta::get(slow, 10s), manta::object_lost_error);
  CHECK(steady::now() - t0 < 5s);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
