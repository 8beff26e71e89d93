// One retry budget per task for its whole life, wherever it runs: a task
// sent to a worker runs at most 1 + max_retries times in all, whether its
// attempts fail by throwing (retry_exceptions) or by losing their node, and
// whether they run on one worker or several. Each attempt appends its
// process id to a file with one O_APPEND write (atomic), so the file counts
// the attempts exactly, across processes. A task whose worker dies on every
// attempt runs 1 + max_retries times too: node_failures_test ("max_node_failures(-1)
// leaves the bound to max_retries").
#include <manta/manta.hpp>

#include "tests/attempt_log.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using manta_test::pids_in;
using manta_test::record_attempt;

/// Fails on every attempt with an exception that retry_exceptions covers.
int always_throws(std::string log) {
  record_attempt(log);
  throw std::runtime_error("always fails");
}

MANTA_REMOTE(always_throws);

/// Throws on every attempt but the second, on which it kills its own node
/// (SIGKILL, as the OOM killer would): a budget spent partly on exceptions
/// on one node, then on another node.
int throws_then_kills(std::string log) {
  if (record_attempt(log) == 2)
    ::raise(SIGKILL);
  throw std::runtime_error("fails, and once kills its node");
}

MANTA_REMOTE(throws_then_kills);

/// An actor whose one method fails the way throws_then_kills does.
struct flaky {
  int work(std::string log) { return throws_then_kills(std::move(log)); }
};

MANTA_ACTOR(flaky, &flaky::work);

std::atomic<bool> holding{false};

/// Holds the driver's one CPU until the attempt log at `log` has `n`
/// attempts (bounded: 60 s), so that the task under test goes to a worker
/// first and can run on the driver only after that.
bool hold_cpu_until(std::string log, int n) {
  holding = true;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (pids_in(log).size() < static_cast<size_t>(n)
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  return pids_in(log).size() >= static_cast<size_t>(n);
}

MANTA_REMOTE(hold_cpu_until);

} // namespace

TEST_CASE("a task on a worker that always throws runs 1 + max_retries times") {
  manta::local_cluster c;
  auto worker = c.add_worker(1);
  c.join(0); // the driver runs nothing itself
  auto log = c.dir() + "/attempts.log";
  auto ref = manta::task(always_throws).retry_exceptions().max_retries(3).remote(log);
  CHECK_THROWS_AS(manta::get(ref, 60s), manta::task_error);
  auto tried = pids_in(log);
  CHECK(tried.size() == 4);
  for (auto pid : tried)
    CHECK(pid == worker);
  // The driver's listing counts the attempts its worker ran.
  int listed = -1;
  for (auto& info : manta::list_tasks())
    if (info.id == ref.id())
      listed = info.attempts;
  CHECK(listed == 4);
}

TEST_CASE("attempts that throw and an attempt whose worker dies share one budget") {
  manta::local_cluster c;
  c.add_worker(1);
  c.add_worker(1);
  c.join(0);
  auto log = c.dir() + "/attempts.log";
  // Attempt 1 throws, attempt 2 kills its worker, attempts 3 and 4 throw on
  // the other worker: 4 in all. A worker retrying on a budget of its own
  // would run 2 + (1 + 3) = 6.
  auto ref = manta::task(throws_then_kills).retry_exceptions().max_retries(3).remote(log);
  CHECK_THROWS_AS(manta::get(ref, 60s), manta::task_error);
  auto tried = pids_in(log);
  REQUIRE(tried.size() == 4);
  CHECK(tried[2] == tried[3]);
  CHECK(tried[1] != tried[2]); // the node of attempt 2 died
}

TEST_CASE("attempts on a worker count in the budget of a retry that runs on the driver") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(1);
  auto log = c.dir() + "/attempts.log";
  // The driver's CPU is held until attempt 2 has killed the worker: attempts
  // 1 and 2 run there, attempts 3 and 4 on the driver, 4 in all. A local run
  // counting its own budget afresh would run 2 + (1 + 3) = 6.
  auto held = manta::task(hold_cpu_until).node_affinity(manta::current_node()).remote(log, 2);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!holding && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  REQUIRE(holding);
  auto ref = manta::task(throws_then_kills).retry_exceptions().max_retries(3).remote(log);
  CHECK_THROWS_AS(manta::get(ref, 60s), manta::task_error);
  CHECK(manta::get(held, 60s));
  auto tried = pids_in(log);
  REQUIRE(tried.size() == 4);
  CHECK(tried[0] == tried[1]);
  CHECK(tried[0] != ::getpid()); // attempts 1 and 2 ran on the worker
  CHECK(tried[2] == ::getpid());
  CHECK(tried[3] == ::getpid());
}

TEST_CASE("an actor call's retries on exceptions and after its node died share one budget") {
  manta::local_cluster c;
  c.add_worker(1);
  c.add_worker(1);
  c.join(0);
  auto log = c.dir() + "/attempts.log";
  // Attempt 1 throws, attempt 2 kills the actor's worker, the actor
  // restarts on the other worker, where attempts 3 and 4 throw: 4 in all.
  auto a = manta::actor<flaky>()
             .resources({{"CPU", 1}})
             .max_restarts(1)
             .max_task_retries(3)
             .retry_exceptions()
             .remote();
  auto ref = a.call(&flaky::work).remote(log);
  CHECK_THROWS_AS(manta::get(ref, 60s), manta::task_error);
  auto tried = pids_in(log);
  REQUIRE(tried.size() == 4);
  CHECK(tried[0] == tried[1]);
  CHECK(tried[1] != tried[2]);
  CHECK(tried[2] == tried[3]);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
