// A thread outside the pool that blocks in get on a task still queued runs
// the task itself (worker_pool_caller.cpp): with the task's own lease, its
// events on the thread that ran it, its cancel and its retries, and never
// past the node's resources.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "manta/observe/task_events.hpp"
#include "tests/concurrency_peak.hpp"
#include "tests/runtime_guard.hpp"
#include "tools/fork_join_task.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;

namespace {

/// Only a get without a deadline runs the task on the calling thread (a
/// task run there could not keep a deadline), so the gets below have none:
/// meson's timeout for the test bounds them.

size_t this_thread_key() {
  return std::hash<std::thread::id>{}(std::this_thread::get_id());
}

/// The executor id the event recorder gives the thread running the task.
uint32_t executor_id() {
  return manta::detail::task_events::current_thread_id();
}

/// CPUs free while the task runs: its own CPU is leased, whoever runs it.
double free_cpus_inside() {
  return manta::available_resources().at("CPU");
}

/// How many `hold` tasks run at once.
manta_test::concurrency_peak g_holds;

int hold(int ms) {
  return g_holds.hold_for(ms);
}

std::atomic<int> g_flaky_runs{0};

int flaky() {
  if (g_flaky_runs.fetch_add(1) == 0)
    throw std::runtime_error("first run fails");
  return 7;
}

std::atomic<bool> g_started{false};
std::atomic<bool> g_saw_cancel{false};

/// Runs until cancelled (at most 30 s, so a broken cancel fails the test).
int run_until_cancelled() {
  g_started = true;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (!manta::cancelled() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  g_saw_cancel = manta::cancelled();
  return 1;
}

std::atomic<bool> g_ran{false};

int mark_ran() {
  g_ran = true;
  return 1;
}

MANTA_REMOTE(this_thread_key, executor_id, free_cpus_inside, hold, flaky, run_until_cancelled,
             mark_ran);

const manta::task_info* find(const std::vector<manta::task_info>& ts, manta::object_id id) {
  for (auto& t : ts)
    if (t.id == id)
      return &t;
  return nullptr;
}

/// Waits until the pool's CPUs are all free again (a pool thread gives its
/// lease back just after it seals the result the driver read).
bool all_cpus_free(double total) {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (manta::available_resources().at("CPU") < total && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  return manta::available_resources().at("CPU") == doctest::Approx(total);
}

} // namespace

TEST_CASE("the driver runs a ready task it gets on its own thread") {
  runtime_guard rt{1};
  int here = 0;
  for (int i = 0; i < 200; ++i)
    here += manta::get(manta::task(this_thread_key).remote()) == this_thread_key() ? 1 : 0;
  // Before, every task ran on a pool thread; now nearly all run here (a
  // pool thread still takes one it reaches first).
  MESSAGE(here << " of 200 ran on the driver's thread");
  CHECK(here > 0);
  CHECK(all_cpus_free(1));
}

TEST_CASE("a task the driver runs holds its CPU, as on a pool thread") {
  runtime_guard rt{1};
  for (int i = 0; i < 50; ++i)
    CHECK(manta::get(manta::task(free_cpus_inside).remote()) == doctest::Approx(0));
  CHECK(all_cpus_free(1));
}

TEST_CASE("the driver does not run a task whose resources are taken") {
  runtime_guard rt{1, {{"slot", 1}}};
  g_holds.reset();
  auto first = manta::task(hold).remote(300);
  auto second = manta::task(hold).remote(1); // queued: the one CPU is taken
  CHECK(manta::get(second) == 1);
  CHECK(manta::get(first) == 300);
  CHECK(g_holds.most == 1);
  // The same with a custom resource the tasks need all of.
  g_holds.most = 0;
  auto a = manta::task(hold).num_cpus(0).resources({{"slot", 1}}).remote(300);
  auto b = manta::task(hold).num_cpus(0).resources({{"slot", 1}}).remote(1);
  CHECK(manta::get(b) == 1);
  CHECK(manta::get(a) == 300);
  CHECK(g_holds.most == 1);
  CHECK(all_cpus_free(1));
}

TEST_CASE("a task the driver runs is retried as on a pool thread") {
  runtime_guard rt{1};
  for (int i = 0; i < 20; ++i) {
    g_flaky_runs = 0;
    CHECK(manta::get(manta::task(flaky).max_retries(2).retry_exceptions(true).remote()) == 7);
    CHECK(g_flaky_runs == 2);
  }
  // Without retries the error reaches the driver.
  g_flaky_runs = 0;
  CHECK_THROWS_AS(manta::get(manta::task(flaky).remote()), manta::task_error);
  CHECK(g_flaky_runs == 1);
  CHECK(all_cpus_free(1));
}

TEST_CASE("a task cancelled before it runs is not run by the driver") {
  runtime_guard rt{1};
  for (int i = 0; i < 5; ++i) {
    g_ran = false;
    auto blocker = manta::task(hold).remote(100);
    auto victim = manta::task(mark_ran).remote(); // queued behind the blocker
    manta::cancel(victim);
    CHECK_THROWS_AS(manta::get(victim), manta::task_cancelled_error);
    CHECK(manta::get(blocker) == 100);
    // A task queued after the victim runs (on the driver or a pool thread):
    // the victim, before it in the queue, was dropped without running.
    CHECK(manta::get(manta::task(free_cpus_inside).remote()) == doctest::Approx(0));
    CHECK_FALSE(g_ran);
  }
  CHECK(all_cpus_free(1));
}

TEST_CASE("a task running on the driver sees its cancel") {
  runtime_guard rt{1};
  for (int i = 0; i < 3; ++i) {
    g_started = false;
    g_saw_cancel = false;
    auto ref = manta::task(run_until_cancelled).remote();
    std::thread canceller{[&] {
      auto until = std::chrono::steady_clock::now() + 30s;
      while (!g_started && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(1ms);
      manta::cancel(ref);
    }};
    CHECK_THROWS_AS(manta::get(ref), manta::task_cancelled_error);
    canceller.join();
    // The task stopped because it saw the cancel, not because 30 s passed;
    // its run may still be returning on another thread.
    auto until = std::chrono::steady_clock::now() + 10s;
    while (!g_saw_cancel && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(1ms);
    CHECK(g_saw_cancel);
  }
  CHECK(all_cpus_free(1));
}

TEST_CASE("a task the driver runs records its events on the driver's thread") {
  runtime_guard rt{1};
  auto driver = manta::detail::task_events::current_thread_id();
  std::vector<std::pair<manta::object_id, uint32_t>> ran;
  for (int i = 0; i < 50; ++i) {
    auto ref = manta::task(executor_id).remote();
    ran.emplace_back(ref.id(), manta::get(ref));
  }
  auto records = manta::list_tasks();
  int on_driver = 0;
  for (auto& [id, thread] : ran) {
    auto* r = find(records, id);
    REQUIRE(r != nullptr);
    CHECK(r->state == manta::task_state::finished);
    CHECK(r->thread_id == thread); // the thread that ran it, whichever it was
    CHECK(r->thread.rfind("executor-", 0) == 0);
    CHECK(r->started_us >= r->submitted_us);
    CHECK(r->ended_us >= r->started_us);
    CHECK(r->attempts == 1);
    on_driver += thread == driver ? 1 : 0;
  }
  MESSAGE(on_driver << " of 50 ran on the driver's thread");
  CHECK(on_driver > 0);
}

TEST_CASE("a task the driver runs may wait for its own children") {
  runtime_guard rt{1};
  for (int i = 0; i < 20; ++i)
    CHECK(manta::get(manta::task(manta_tools::fork_join).remote(6)) == 127);
  CHECK(all_cpus_free(1));
}

TEST_CASE("a get with a timeout does not run the task on the driver") {
  runtime_guard rt{1};
  for (int i = 0; i < 50; ++i)
    CHECK(manta::get(manta::task(this_thread_key).remote(), 10s) != this_thread_key());
}

TEST_CASE("the driver leaves the earlier tasks of a list to the pool threads") {
  runtime_guard rt{1};
  for (int round = 0; round < 10; ++round) {
    std::vector<manta::object_ref<size_t>> refs;
    for (int i = 0; i < 20; ++i)
      refs.push_back(manta::task(this_thread_key).remote());
    auto keys = manta::get(refs);
    // Only the one it submitted last may run on the driver's thread.
    for (size_t i = 0; i + 1 < keys.size(); ++i)
      CHECK(keys[i] != this_thread_key());
  }
}

TEST_CASE("a task the driver submits and neither gets nor waits for still runs") {
  // A granted task its submitter will likely run itself wakes no pool
  // thread while the pool's watcher sleeps (worker_pool.hpp, watch_wanted):
  // the watcher's timed wait must run it when the driver does not. Each
  // round first runs a task on the driver, which keeps the watcher
  // watching, then leaves one and spins (no get, no park) until it ran.
  runtime_guard rt{2};
  for (int i = 0; i < 200; ++i) {
    // The pool thread that ran the last round's task gives its CPU back
    // after it sealed the result that `get` returned: wait for it.
    REQUIRE(all_cpus_free(2));
    CHECK(manta::get(manta::task(free_cpus_inside).remote()) == doctest::Approx(1));
    g_ran = false;
    auto ref = manta::task(mark_ran).remote();
    auto until = steady::now() + 10s;
    while (!g_ran && steady::now() < until)
      std::this_thread::yield();
    REQUIRE(g_ran);
    CHECK(manta::get(ref) == 1);
  }
  CHECK(all_cpus_free(2));
}

TEST_CASE("a get with a timeout of a task left to the driver wakes a pool thread") {
  // The park of the driver's get wakes a pool thread for the task it left
  // to itself (wake_for_left_task), rather than leave it to the watcher.
  runtime_guard rt{2};
  for (int i = 0; i < 200; ++i) {
    CHECK(manta::get(manta::task(this_thread_key).remote()) != 0);
    CHECK(manta::get(manta::task(this_thread_key).remote(), 10s) != this_thread_key());
  }
}

TEST_CASE("threads that submit and get one task at a time each get every result") {
  // The pool keeps one task left to its submitter out of its queue, which
  // the submitter takes back without the pool's lock (worker_pool_state.hpp,
  // `left`): several threads leaving tasks at once share that one place,
  // and each task runs once, on its submitter's thread or on a pool one.
  runtime_guard rt{2};
  // Per thread: tasks that ran on it, and results that were no thread's.
  struct tally {
    int here = 0;
    int wrong = 0;
  };
  std::vector<tally> tallies(4);
  {
    std::vector<std::jthread> submitters;
    for (auto& mine : tallies)
      submitters.emplace_back([&mine] {
        for (int i = 0; i < 2000; ++i) {
          auto key = manta::get(manta::task(this_thread_key).remote());
          mine.here += key == this_thread_key() ? 1 : 0;
          mine.wrong += key == 0 ? 1 : 0;
        }
      });
  }
  for (auto& t : tallies) {
    MESSAGE(t.here << " of 2000 ran on their submitter's thread");
    CHECK(t.wrong == 0);
  }
  CHECK(all_cpus_free(2));
}
