// Cancel of actor calls (queued, running sync, running async), recursive
// cancel of the tasks a task submitted, and `force` (docs/reliability.md,
// "Cancellation"). The multi-process cases are in cluster_cancel_test.cpp.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

/// Waits until `pred()` holds or `limit` passed; returns whether it holds.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = steady::now() + limit;
  while (!pred() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return pred();
}

std::atomic<bool> g_release{false};
std::atomic<int> g_started{0};
std::atomic<int> g_runs{0};
std::atomic<bool> g_saw_cancelled{false};
std::atomic<bool> g_woken{false};
std::atomic<bool> g_went_on{false};
std::atomic<bool> g_step_saw_cancelled{false};

/// Blocks until released (at most 20 s).
int hold() {
  ++g_started;
  auto deadline = steady::now() + 20s;
  while (!g_release.load() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return 1;
}
MANTA_REMOTE(hold);

/// Loops until cancelled (or released, at most 20 s); never checks anything
/// else, so only cancel ends it early.
int loop_until_cancelled() {
  ++g_started;
  auto deadline = steady::now() + 20s;
  while (!manta::cancelled() && !g_release.load() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  if (manta::cancelled())
    g_saw_cancelled = true;
  return 7;
}
MANTA_REMOTE(loop_until_cancelled);

std::optional<manta::object_ref<int>> g_child;
std::atomic<bool> g_child_ready{false};

/// Submits a child that loops until cancelled and waits for it.
int parent() {
  auto child = manta::task(loop_until_cancelled).remote();
  g_child = child;
  g_child_ready = true;
  return manta::get(child);
}
MANTA_REMOTE(parent);

class worker {
public:
  int block() { return hold(); }
  int mark(int x) {
    ++g_runs;
    return x;
  }
  int spin() { return loop_until_cancelled(); }
  bool was_cancelled() { return manta::cancelled(); }
  /// Submits a task that loops until cancelled, and waits for it.
  int spawn() { return parent(); }
};
MANTA_ACTOR(worker, &worker::block, &worker::mark, &worker::spin, &worker::was_cancelled,
            &worker::spawn);

class napper {
public:
  /// Sleeps 30 s unless cancelled; says whether the cancel woke it.
  manta::async<int> nap() {
    try {
      co_await manta::sleep_for(30s);
    } catch (const manta::task_cancelled_error&) {
      g_woken = true;
      throw;
    }
    g_went_on = true;
    co_return 1;
  }
  /// Waits for an object that is not there until released.
  manta::async<int> await_task() {
    auto ref = manta::task(hold).remote();
    try {
      int v = co_await ref;
      g_went_on = true;
      co_return v;
    } catch (const manta::task_cancelled_error&) {
      g_woken = true;
      throw;
    }
  }
  manta::async<int> quick(int x) { co_return x; }
  /// After a first wait, submits a task and (blocking the event loop, as a
  /// test may) polls manta::cancelled() in this later step.
  manta::async<int> later_step() {
    co_await manta::sleep_for(1ms);
    auto child = manta::task(loop_until_cancelled).remote();
    g_child = child;
    g_child_ready = true;
    auto deadline = steady::now() + 20s;
    while (!manta::cancelled() && steady::now() < deadline)
      std::this_thread::sleep_for(1ms);
    g_step_saw_cancelled = manta::cancelled();
    co_return 1;
  }
};
MANTA_ACTOR(napper, &napper::nap, &napper::await_task, &napper::quick, &napper::later_step);

void reset() {
  g_release = false;
  g_started = 0;
  g_runs = 0;
  g_saw_cancelled = false;
  g_woken = false;
  g_went_on = false;
  g_step_saw_cancelled = false;
  g_child.reset();
  g_child_ready = false;
}

/// Cancels `r` once its task runs and has submitted its child: both end
/// cancelled, and the child saw it.
template <class T>
void cancel_with_child(const manta::object_ref<T>& r) {
  REQUIRE(wait_for([] { return g_started.load() == 1 && g_child_ready.load(); }));
  manta::cancel(r);
  CHECK_THROWS_AS(manta::get(r, 5s), manta::task_cancelled_error);
  CHECK_THROWS_AS(manta::get(*g_child, 5s), manta::task_cancelled_error);
  CHECK(wait_for([] { return g_saw_cancelled.load(); }));
}

} // namespace

TEST_CASE("a queued actor call that is cancelled never runs") {
  runtime_guard rt{2};
  reset();
  auto a = manta::actor<worker>().remote();
  auto busy = a.call(&worker::block).remote();
  REQUIRE(wait_for([] { return g_started.load() == 1; }));
  auto queued = a.call(&worker::mark).remote(5);
  auto t0 = steady::now();
  manta::cancel(queued);
  CHECK_THROWS_AS(manta::get(queued, 5s), manta::task_cancelled_error);
  CHECK(seconds_since(t0) < 0.5);
  auto later = a.call(&worker::mark).remote(6);
  g_release = true;
  CHECK(manta::get(busy, 5s) == 1);
  CHECK(manta::get(later, 5s) == 6); // runs after where the cancelled one was
  CHECK(g_runs.load() == 1);
  auto calls = manta::list_tasks();
  bool listed = false;
  for (auto& t : calls)
    if (t.id == queued.id())
      listed = t.state == manta::task_state::cancelled;
  CHECK(listed);
}

TEST_CASE("a running actor call sees cancelled() and its get throws at once") {
  runtime_guard rt{2};
  reset();
  auto a = manta::actor<worker>().remote();
  CHECK_FALSE(manta::get(a.call(&worker::was_cancelled).remote(), 5s));
  auto running = a.call(&worker::spin).remote();
  REQUIRE(wait_for([] { return g_started.load() == 1; }));
  auto t0 = steady::now();
  manta::cancel(running);
  CHECK_THROWS_AS(manta::get(running, 5s), manta::task_cancelled_error);
  CHECK(seconds_since(t0) < 0.5);
  CHECK(wait_for([] { return g_saw_cancelled.load(); }));
  // The actor goes on serving calls, which are not cancelled.
  CHECK(manta::get(a.call(&worker::mark).remote(3), 5s) == 3);
  CHECK_FALSE(manta::get(a.call(&worker::was_cancelled).remote(), 5s));
}

TEST_CASE("a running async call is cancelled at its co_await, at once") {
  runtime_guard rt{2};
  reset();
  auto a = manta::actor<napper>().remote();
  SUBCASE("waiting for a timer") {
    auto r = a.call(&napper::nap).remote();
    // Its coroutine is suspended in the 30 s sleep once the actor is alive
    // and has taken the call (calls of an async actor run in order).
    CHECK(manta::get(a.call(&napper::quick).remote(1), 5s) == 1);
    auto t0 = steady::now();
    manta::cancel(r);
    CHECK_THROWS_AS(manta::get(r, 5s), manta::task_cancelled_error);
    CHECK(seconds_since(t0) < 0.5);
    CHECK(wait_for([] { return g_woken.load(); }));
  }
  SUBCASE("waiting for an object") {
    auto r = a.call(&napper::await_task).remote();
    REQUIRE(wait_for([] { return g_started.load() == 1; }));
    manta::cancel(r);
    CHECK_THROWS_AS(manta::get(r, 5s), manta::task_cancelled_error);
    CHECK(wait_for([] { return g_woken.load(); }));
    // Cancelling the call cancelled the task it submitted (recursive).
    CHECK(manta::get(a.call(&napper::quick).remote(2), 5s) == 2);
  }
  CHECK_FALSE(g_went_on.load());
  g_release = true;
  // The event loop is free: other calls still run.
  CHECK(manta::get(a.call(&napper::quick).remote(4), 5s) == 4);
}

TEST_CASE("an async call's later steps see cancelled(), and what they submitted is cancelled") {
  runtime_guard rt{2};
  reset();
  auto a = manta::actor<napper>().remote();
  auto r = a.call(&napper::later_step).remote();
  REQUIRE(wait_for([] { return g_started.load() == 1 && g_child_ready.load(); }));
  manta::cancel(r);
  CHECK_THROWS_AS(manta::get(r, 5s), manta::task_cancelled_error);
  CHECK(wait_for([] { return g_step_saw_cancelled.load(); }));
  CHECK_THROWS_AS(manta::get(*g_child, 5s), manta::task_cancelled_error);
  CHECK(wait_for([] { return g_saw_cancelled.load(); }));
}

TEST_CASE("cancel is recursive: the tasks a task submitted are cancelled too") {
  runtime_guard rt{3};
  reset();
  cancel_with_child(manta::task(parent).remote());
}

TEST_CASE("cancel with recursive = false leaves the submitted tasks running") {
  runtime_guard rt{3};
  reset();
  auto p = manta::task(parent).remote();
  REQUIRE(wait_for([] { return g_started.load() == 1 && g_child_ready.load(); }));
  manta::cancel(p, {.recursive = false});
  CHECK_THROWS_AS(manta::get(p, 5s), manta::task_cancelled_error);
  CHECK_THROWS_AS(manta::get(*g_child, 200ms), manta::get_timeout_error); // still running
  g_release = true;
  CHECK(manta::get(*g_child, 5s) == 7);
  CHECK_FALSE(g_saw_cancelled.load());
}

TEST_CASE("cancelling an actor call cancels the tasks it submitted") {
  runtime_guard rt{3};
  reset();
  auto a = manta::actor<worker>().remote();
  cancel_with_child(a.call(&worker::spawn).remote());
}

TEST_CASE("force: a queued task is dropped; a running task or an actor call is refused") {
  runtime_guard rt{1};
  reset();
  auto busy = manta::task(hold).remote();
  REQUIRE(wait_for([] { return g_started.load() == 1; }));
  auto queued = manta::task(loop_until_cancelled).remote();
  manta::cancel(queued, {.force = true});
  CHECK_THROWS_AS(manta::get(queued, 5s), manta::task_cancelled_error);
  // The running one cannot be ended without ending the process: refused,
  // naming why and what to do, and left alone.
  try {
    manta::cancel(busy, {.force = true});
    FAIL("force cancel of a running task did not throw");
  } catch (const manta::invalid_argument_error& e) {
    std::string what = e.what();
    CHECK(what.find("running") != std::string::npos);
    CHECK(what.find("without force") != std::string::npos);
  }
  g_release = true;
  CHECK(manta::get(busy, 5s) == 1);
  CHECK(g_started.load() == 1); // the queued one never ran

  reset();
  auto a = manta::actor<worker>().remote();
  auto call = a.call(&worker::block).remote();
  REQUIRE(wait_for([] { return g_started.load() == 1; }));
  CHECK_THROWS_AS(manta::cancel(call, {.force = true}), manta::invalid_argument_error);
  g_release = true;
  CHECK(manta::get(call, 5s) == 1); // not cancelled
}
