// Tasks that submit tasks and block on them: a task blocked in get gives its
// CPU back, so nested and recursive task graphs cannot deadlock.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"
#include "tests/thread_count.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


/// A get that fails the test instead of hanging it if the runtime deadlocks.
constexpr auto deadlock_guard = 60s;

int square(int x) {
  return x * x;
}

int sum_of_squares(int n) {
  std::vector<manta::object_ref<int>> refs;
  for (int i = 1; i <= n; ++i)
    refs.push_back(manta::task(square).remote(i));
  int total = 0;
  for (auto& r : refs)
    total += manta::get(r, deadlock_guard);
  return total;
}

/// Two levels: each inner task itself submits tasks.
int sum_of_sums(int n) {
  std::vector<manta::object_ref<int>> refs;
  for (int i = 1; i <= n; ++i)
    refs.push_back(manta::task(sum_of_squares).remote(i));
  int total = 0;
  for (auto v : manta::get(refs))
    total += v;
  return total;
}

std::atomic<int> g_fib_calls{0};

int fib(int n) {
  ++g_fib_calls;
  if (n < 2)
    return n;
  auto a = manta::task(fib).remote(n - 1);
  auto b = manta::task(fib).remote(n - 2);
  return manta::get(a, deadlock_guard) + manta::get(b, deadlock_guard);
}

/// Nested wait instead of get: waits for all children, then reads them.
int fib_wait(int n) {
  if (n < 2)
    return n;
  std::vector<manta::object_ref<int>> kids{manta::task(fib_wait).remote(n - 1),
                                           manta::task(fib_wait).remote(n - 2)};
  auto [ready, pending] = manta::wait(kids, 2, deadlock_guard);
  if (!pending.empty())
    throw std::runtime_error("fib_wait: children not ready in time");
  return manta::get(kids[0]) + manta::get(kids[1]);
}

/// A chain of nested gets, each level holding its thread while it blocks.
int depth(int n) {
  if (n == 0)
    return 0;
  return 1 + manta::get(manta::task(depth).remote(n - 1), deadlock_guard);
}

int fib_sequential(int n) {
  return n < 2 ? n : fib_sequential(n - 1) + fib_sequential(n - 2);
}

/// Calls of fib(n) in the recursive version.
int fib_calls(int n) {
  return n < 2 ? 1 : 1 + fib_calls(n - 1) + fib_calls(n - 2);
}

int fails(int x) {
  throw std::invalid_argument("bad input " + std::to_string(x));
}

/// Gets a failing child without catching: the child's error is its error.
int parent_of_failure(int x) {
  return manta::get(manta::task(fails).remote(x), deadlock_guard) + 1;
}

MANTA_REMOTE(square, sum_of_squares, sum_of_sums, fib, fib_wait, depth, fails, parent_of_failure);

} // namespace

TEST_CASE("a task submits tasks and gets their results") {
  for (double cpus : {1.0, 2.0}) {
    CAPTURE(cpus);
    runtime_guard rt{cpus};
    CHECK(manta::get(manta::task(sum_of_squares).remote(10), deadlock_guard) == 385);
    // 1 + 5 + 14 + 30 + 55
    CHECK(manta::get(manta::task(sum_of_sums).remote(5), deadlock_guard) == 105);
  }
}

TEST_CASE("recursive Fibonacci via tasks does not deadlock") {
  REQUIRE(fib_sequential(15) == 610);
  for (double cpus : {1.0, 2.0}) {
    CAPTURE(cpus);
    runtime_guard rt{cpus};
    g_fib_calls = 0;
    CHECK(manta::get(manta::task(fib).remote(15), deadlock_guard) == 610);
    CHECK(g_fib_calls.load() == fib_calls(15)); // every call ran exactly once
    // Informational: blocked tasks each keep their executor thread.
    MESSAGE("threads after fib(15) with " << cpus << " CPU(s): " << thread_count());
    // After the whole tree, every lent CPU is back.
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (manta::available_resources().at("CPU") != cpus
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    CHECK(manta::available_resources().at("CPU") == doctest::Approx(cpus));
  }
}

TEST_CASE("recursion through nested wait does not deadlock") {
  runtime_guard rt{1};
  CHECK(manta::get(manta::task(fib_wait).remote(12), deadlock_guard) == 144);
}

TEST_CASE("a deep chain of nested gets on one CPU") {
  runtime_guard rt{1};
  CHECK(manta::get(manta::task(depth).remote(100), deadlock_guard) == 100);
}

TEST_CASE("a nested task's error reaches the caller of the outer task") {
  runtime_guard rt{1};
  try {
    (void)manta::get(manta::task(parent_of_failure).remote(3), deadlock_guard);
    FAIL("get did not throw");
  } catch (const manta::task_error& e) {
    CHECK(e.type_name() == "std::invalid_argument");
    CHECK(e.message() == "bad input 3");
  }
}
