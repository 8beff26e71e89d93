// Failures reach the caller as exceptions: task errors with their origin,
// propagation through dependents, retries, get timeouts and cancellation.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/held_task.hpp"
#include "tests/runtime_guard.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace my_ns {

struct custom_failure : std::exception {
  const char* what() const noexcept override { return "custom failure happened"; }
};

} // namespace my_ns

namespace {


int throws_runtime(int x) {
  throw std::runtime_error("boom " + std::to_string(x));
}

int throws_custom() {
  throw my_ns::custom_failure{};
}

int throws_int() {
  throw 42;
}

std::atomic<int> g_add_one_calls{0};

int add_one(int x) {
  ++g_add_one_calls;
  return x + 1;
}

/// Attempt counters, one per test so tests cannot disturb each other.
std::array<std::atomic<int>, 16> g_attempts{};

/// Fails `fail_times` times (per key), then returns the attempt number.
int flaky(int key, int fail_times) {
  auto attempt = ++g_attempts[key];
  if (attempt <= fail_times)
    throw std::runtime_error("flaky attempt " + std::to_string(attempt));
  return attempt;
}

std::atomic<int> g_marker_runs{0};

int marker(int x) {
  ++g_marker_runs;
  return x;
}

std::atomic<bool> g_loop_started{false};
std::atomic<bool> g_saw_cancelled{false};

/// Polls manta::cancelled() and stops when it turns true.
int cancellable_loop() {
  g_loop_started = true;
  auto deadline = steady::now() + 10s;
  while (steady::now() < deadline) {
    if (manta::cancelled()) {
      g_saw_cancelled = true;
      return -1;
    }
    std::this_thread::sleep_for(1ms);
  }
  return 0;
}

manta::object_ref<int> g_blocker;
std::atomic<bool> g_get_started{false};
std::atomic<bool> g_get_cancelled{false};

/// Blocks in a get on `g_blocker`.
int get_blocker() {
  g_get_started = true;
  try {
    return manta::get(g_blocker);
  } catch (const manta::task_cancelled_error&) {
    g_get_cancelled = true;
    throw;
  }
}

MANTA_REMOTE(throws_runtime, throws_custom, throws_int, add_one, flaky, hold_until_released, marker,
             cancellable_loop, get_blocker);

/// The task_error that `get()` (a get of a failed task's result) throws, or
/// nothing if it throws none.
template <class Get>
std::optional<manta::task_error> task_error_of(Get get) {
  try {
    (void)get();
  } catch (const manta::task_error& e) {
    return e;
  }
  return std::nullopt;
}

/// Cancels `r`: its get throws task_cancelled_error within 0.1 s.
template <class T>
void check_cancelled_at_once(const manta::object_ref<T>& r) {
  auto t0 = steady::now();
  manta::cancel(r);
  CHECK_THROWS_AS(manta::get(r, 5s), manta::task_cancelled_error);
  CHECK(seconds_since(t0) < 0.1);
}

/// A held task (hold_until_released), running, with no marker run yet.
manta::object_ref<int> running_held_task() {
  g_release = false;
  g_marker_runs = 0;
  auto held = manta::task(hold_until_released).remote();
  wait_for_holding(1);
  return held;
}

void wait_until(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
  auto deadline = steady::now() + limit;
  while (!flag.load() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
}


} // namespace

TEST_CASE("an exception in a task reaches get as task_error") {
  runtime_guard rt{2};
  auto ref = manta::task(throws_runtime).remote(7);
  auto e = task_error_of([&] { return manta::get(ref); });
  REQUIRE_MESSAGE(e.has_value(), "get did not throw");
  CHECK(e->type_name() == "std::runtime_error");
  CHECK(e->message() == "boom 7");
  CHECK(e->task_name() == "throws_runtime");
  CHECK_FALSE(e->node().empty());
  std::string what = e->what();
  CHECK(what.find("boom 7") != std::string::npos);
  CHECK(what.find("throws_runtime") != std::string::npos);
  // Every get of the ref throws the same error, and task_error is a manta::error.
  CHECK_THROWS_AS(manta::get(ref), manta::error);
  CHECK_THROWS_WITH_AS(manta::get(ref, 1s), doctest::Contains("boom 7"), manta::task_error);
}

TEST_CASE("task_error names custom exception types and custom task names") {
  runtime_guard rt{2};
  auto e = task_error_of([&] { return manta::get(manta::task(throws_custom).remote()); });
  REQUIRE_MESSAGE(e.has_value(), "get did not throw");
  CHECK(e->type_name() == "my_ns::custom_failure");
  CHECK(e->message() == "custom failure happened");
  CHECK(e->task_name() == "throws_custom");
  auto named = task_error_of(
    [&] { return manta::get(manta::task(throws_runtime).name("custom").remote(1)); });
  REQUIRE_MESSAGE(named.has_value(), "get did not throw");
  CHECK(named->task_name() == "custom");
  CHECK(named->type_name() == "std::runtime_error");
}

TEST_CASE("a non-standard exception gives a task_error too") {
  runtime_guard rt{1};
  auto e = task_error_of([&] { return manta::get(manta::task(throws_int).remote()); });
  REQUIRE_MESSAGE(e.has_value(), "get did not throw");
  CHECK(e->task_name() == "throws_int");
  CHECK_FALSE(e->type_name().empty());
  CHECK_FALSE(e->node().empty());
}

TEST_CASE("errors propagate through dependent tasks") {
  runtime_guard rt{2};
  g_add_one_calls = 0;
  auto up = manta::task(throws_runtime).remote(3);
  auto mid = manta::task(add_one).remote(up);
  auto down = manta::task(add_one).remote(mid);
  auto e = task_error_of([&] { return manta::get(down); });
  REQUIRE_MESSAGE(e.has_value(), "get did not throw");
  CHECK(e->task_name() == "throws_runtime"); // the task that failed, not the one read
  CHECK(e->message() == "boom 3");
  CHECK_THROWS_AS(manta::get(mid), manta::task_error);
  CHECK(g_add_one_calls.load() == 0); // the dependents never ran
}

TEST_CASE("retry_exceptions re-runs a failing task until it succeeds") {
  runtime_guard rt{2};
  constexpr int key = 0;
  g_attempts[key] = 0;
  auto ref = manta::task(flaky).max_retries(3).retry_exceptions(true).remote(key, 2);
  CHECK(manta::get(ref, 10s) == 3);
  CHECK(g_attempts[key].load() == 3);
}

TEST_CASE("without retry_exceptions a task fails on its first exception") {
  runtime_guard rt{2};
  constexpr int key = 1;
  g_attempts[key] = 0;
  auto ref = manta::task(flaky).max_retries(3).remote(key, 2);
  auto e = task_error_of([&] { return manta::get(ref, 10s); });
  REQUIRE_MESSAGE(e.has_value(), "get did not throw");
  CHECK(e->message() == "flaky attempt 1");
  CHECK(g_attempts[key].load() == 1);
}

TEST_CASE("max_retries(1) runs an always-failing task exactly twice") {
  runtime_guard rt{2};
  constexpr int key = 2;
  g_attempts[key] = 0;
  auto ref = manta::task(flaky).max_retries(1).retry_exceptions(true).remote(key, 1000);
  auto e = task_error_of([&] { return manta::get(ref, 10s); });
  REQUIRE_MESSAGE(e.has_value(), "get did not throw");
  CHECK(e->message() == "flaky attempt 2"); // the last attempt's error
  CHECK(g_attempts[key].load() == 2);
  SUBCASE("max_retries(0) runs it once") {
    constexpr int key0 = 3;
    g_attempts[key0] = 0;
    auto once = manta::task(flaky).max_retries(0).retry_exceptions(true).remote(key0, 1000);
    CHECK_THROWS_AS(manta::get(once, 10s), manta::task_error);
    CHECK(g_attempts[key0].load() == 1);
  }
}

TEST_CASE("get with a timeout throws get_timeout_error in time") {
  runtime_guard rt{2};
  g_loop_started = false;
  auto slow = manta::task(cancellable_loop).remote(); // runs up to 10 s
  auto t0 = steady::now();
  CHECK_THROWS_AS(manta::get(slow, 100ms), manta::get_timeout_error);
  auto took = seconds_since(t0);
  CAPTURE(took);
  CHECK(took >= 0.095);
  CHECK(took < 0.5);
  // The ref is still good afterwards; stop the task so the test ends quickly.
  CHECK_FALSE(slow.ready());
  manta::cancel(slow);
  CHECK_THROWS_AS(manta::get(slow, 1s), manta::task_cancelled_error);
}

TEST_CASE("cancel of a queued task: get throws and the task never runs") {
  runtime_guard rt{1};
  auto busy = running_held_task();
  check_cancelled_at_once(manta::task(marker).remote(5));
  g_release = true;
  CHECK(manta::get(busy, 5s) == 1);
  // A task submitted after it runs, so the cancelled one would have by now.
  CHECK(manta::get(manta::task(marker).remote(6), 5s) == 6);
  CHECK(g_marker_runs.load() == 1);
  // The cancelled task holds no CPU.
  auto deadline = steady::now() + 1s;
  while (manta::available_resources().at("CPU") < 1.0 && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  CHECK(manta::available_resources().at("CPU") == doctest::Approx(1));
}

TEST_CASE("cancel of a task waiting for a dependency") {
  runtime_guard rt{2};
  auto dep = running_held_task();
  check_cancelled_at_once(manta::task(marker).remote(dep));
  g_release = true;
  CHECK(manta::get(dep, 5s) == 1);
  CHECK(manta::get(manta::task(marker).remote(dep), 5s) == 1);
  CHECK(g_marker_runs.load() == 1); // only the second one ran
}

TEST_CASE("cancel of a running task") {
  runtime_guard rt{2};
  g_loop_started = false;
  g_saw_cancelled = false;
  auto running = manta::task(cancellable_loop).remote();
  wait_until(g_loop_started, 5s);
  REQUIRE(g_loop_started.load());
  check_cancelled_at_once(running);
  // The task sees manta::cancelled() and leaves its loop.
  wait_until(g_saw_cancelled, 2s);
  CHECK(g_saw_cancelled.load());
  // Cancelling again, or cancelling a finished task, changes nothing.
  manta::cancel(running);
  CHECK_THROWS_AS(manta::get(running), manta::task_cancelled_error);
  auto done = manta::task(marker).remote(3);
  CHECK(manta::get(done) == 3);
  manta::cancel(done);
  CHECK(manta::get(done) == 3);
  manta::cancel(manta::put(1)); // a put value: nothing to cancel
}

TEST_CASE("cancel of a task blocked in get wakes its get") {
  runtime_guard rt{2};
  g_release = false;
  g_get_started = false;
  g_get_cancelled = false;
  g_blocker = manta::task(hold_until_released).remote();
  wait_for_holding(1);
  auto blocked = manta::task(get_blocker).remote();
  wait_until(g_get_started, 5s);
  std::this_thread::sleep_for(20ms); // let it enter the get
  manta::cancel(blocked);
  CHECK_THROWS_AS(manta::get(blocked, 5s), manta::task_cancelled_error);
  wait_until(g_get_cancelled, 2s);
  CHECK(g_get_cancelled.load());
  g_release = true;
  CHECK(manta::get(g_blocker, 5s) == 1);
  g_blocker = {};
}

TEST_CASE("manta::cancelled() is false outside tasks") {
  CHECK_FALSE(manta::cancelled());
  runtime_guard rt{1};
  CHECK_FALSE(manta::cancelled());
}
