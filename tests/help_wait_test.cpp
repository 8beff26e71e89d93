// A task blocked in get or wait runs the tasks it waits for and its own
// children on its own thread (help while waiting, worker_pool_help.cpp):
// a deep recursive fork-join needs few threads even with one CPU, and a
// task run that way fails, retries and is cancelled as before.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"
#include "tools/fork_join_task.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

/// The driver's get fails the test instead of hanging it if the runtime
/// deadlocks. Gets inside tasks have no deadline: a wait with one does not
/// help (a task run under it could not keep the deadline).
constexpr auto deadlock_guard = 60s;

using manta_tools::fork_join;
using manta_tools::threads_now;

/// The same with `wait` for both children before reading them.
long fork_join_wait(int depth) {
  if (depth == 0)
    return 1;
  std::vector<manta::object_ref<long>> kids{manta::task(fork_join_wait).remote(depth - 1),
                                            manta::task(fork_join_wait).remote(depth - 1)};
  auto [ready, pending] = manta::wait(kids, 2);
  if (!pending.empty())
    throw std::runtime_error("wait returned before both children");
  return 1 + manta::get(kids[0]) + manta::get(kids[1]);
}

/// Waits (10 s at most) until the node's one CPU is free again: the pool
/// thread that ran the root task gives its lease back just after it sealed
/// the result the driver read.
bool cpu_free_again() {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (manta::available_resources().at("CPU") < 1 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  return manta::available_resources().at("CPU") == doctest::Approx(1);
}

size_t this_thread_key() {
  return std::hash<std::thread::id>{}(std::this_thread::get_id());
}

/// Whether the task it submits runs on the thread that waits for it.
bool child_runs_here() {
  return manta::get(manta::task(this_thread_key).remote()) == this_thread_key();
}

int boom() {
  throw std::runtime_error("boom in a helped task");
}

/// Gets a child that throws: the get throws the child's task_error.
std::string catch_child_error() {
  try {
    manta::get(manta::task(boom).remote());
  } catch (const manta::task_error& e) {
    return e.what();
  }
  return "no error";
}

std::atomic<int> g_flaky_runs{0};

int flaky() {
  if (g_flaky_runs.fetch_add(1) == 0)
    throw std::runtime_error("first run fails");
  return 7;
}

int get_flaky() {
  return manta::get(manta::task(flaky).max_retries(2).retry_exceptions(true).remote());
}

std::atomic<bool> g_spin_started{false};
std::atomic<bool> g_spin_ended{false};
std::atomic<size_t> g_spin_thread{0};
std::atomic<size_t> g_parent_thread{0};

/// Runs until cancelled (at most 30 s, so a broken cancel fails the test).
int spin_until_cancelled() {
  g_spin_thread = this_thread_key();
  g_spin_started = true;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (!manta::cancelled() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  g_spin_ended = true;
  return manta::cancelled() ? 0 : 1;
}

size_t parent_of_spinner() {
  g_parent_thread = this_thread_key();
  manta::get(manta::task(spin_until_cancelled).remote());
  return g_parent_thread;
}

MANTA_REMOTE(fork_join_wait, this_thread_key, child_runs_here, boom, catch_child_error, flaky,
             get_flaky, spin_until_cancelled, parent_of_spinner);

/// Runs `f` while sampling the process's thread count; returns the peak.
template <class F>
int peak_threads_during(F f) {
  std::atomic<bool> done{false};
  std::atomic<int> peak{threads_now()};
  std::thread sampler{[&] {
    while (!done) {
      peak = std::max(peak.load(), threads_now());
      std::this_thread::sleep_for(200us);
    }
  }};
  f();
  done = true;
  sampler.join();
  return peak - 1; // less the sampler
}

/// Before help-while-waiting a fork-join of depth 12 peaked at 4,101
/// threads; now the pool needs a few per CPU.
constexpr int thread_bound = 40;

/// Runs the fork-join `f` of `depth` levels (2^(depth + 1) - 1 tasks, each
/// adding 1) on the runtime there is: it adds up, on a few threads.
void check_fork_join(long (*f)(int), int depth) {
  long got = 0;
  int peak = peak_threads_during(
    [&] { got = manta::get(manta::task(f).remote(depth), deadlock_guard); });
  CHECK(got == (1L << (depth + 1)) - 1);
  CHECK(peak <= thread_bound);
}

} // namespace

TEST_CASE("a deep fork-join with one CPU completes on a few threads") {
  runtime_guard rt{1};
  check_fork_join(fork_join, 13);
  CHECK(cpu_free_again());
}

TEST_CASE("a deep fork-join with two CPUs completes on a few threads") {
  runtime_guard rt{2};
  check_fork_join(fork_join, 14);
}

TEST_CASE("a fork-join by wait with one CPU completes on a few threads") {
  runtime_guard rt{1};
  check_fork_join(fork_join_wait, 12);
}

TEST_CASE("the task waited for runs on the waiting thread") {
  runtime_guard rt{1};
  CHECK(manta::get(manta::task(child_runs_here).remote(), deadlock_guard));
}

TEST_CASE("a helped task that throws fails the get as before") {
  runtime_guard rt{1};
  auto text = manta::get(manta::task(catch_child_error).remote(), deadlock_guard);
  CHECK(text.find("boom in a helped task") != std::string::npos);
  CHECK(text.find("boom") != std::string::npos);
}

TEST_CASE("a helped task is retried as before") {
  runtime_guard rt{1};
  g_flaky_runs = 0;
  CHECK(manta::get(manta::task(get_flaky).remote(), deadlock_guard) == 7);
  CHECK(g_flaky_runs == 2);
}

TEST_CASE("cancelling a task cancels the child running under its wait") {
  runtime_guard rt{1};
  g_spin_started = false;
  g_spin_ended = false;
  auto parent = manta::task(parent_of_spinner).remote();
  auto until = std::chrono::steady_clock::now() + 30s;
  while (!g_spin_started && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  REQUIRE(g_spin_started);
  CHECK(g_spin_thread == g_parent_thread); // it runs under the parent's wait
  manta::cancel(parent);
  CHECK_THROWS_AS(manta::get(parent, 10s), manta::task_cancelled_error);
  while (!g_spin_ended && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  CHECK(g_spin_ended);
  // The CPU came back: a task runs, and the node's one CPU is free after it.
  CHECK(manta::get(manta::task(fork_join).remote(3), deadlock_guard) == 15);
  auto free_until = std::chrono::steady_clock::now() + 10s;
  while (manta::available_resources().at("CPU") < 1
         && std::chrono::steady_clock::now() < free_until)
    std::this_thread::sleep_for(1ms);
  CHECK(manta::available_resources().at("CPU") == doctest::Approx(1));
}
