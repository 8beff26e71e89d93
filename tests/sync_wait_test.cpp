// Waits under contention (issue 25, item 4): the oversubscription detector
// sees a machine with more busy threads than cores, and a synchronous actor
// call that the caller runs itself (the actor is free and the caller blocks
// on the result without a deadline) keeps every guarantee of a call run by a
// pool thread: order, the actor's identity and GPUs in its code, the
// caller's CPUs lent (no deadlock with one CPU), failures, deadlines. An
// async actor's call is started by its caller in the place of the actor's
// one drainer: its coroutines still never run on two threads at once.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "manta/sched/contention.hpp"
#include "tests/runtime_guard.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace std::chrono_literals;

namespace {

int add_one(int x) {
  return x + 1;
}
MANTA_REMOTE(add_one);

class worker {
public:
  int incr() { return ++n_; }
  /// Submits a task and blocks on it: needs a CPU while its caller waits.
  int nested(int x) { return manta::get(manta::task(add_one).remote(x)); }
  std::string actor_id() { return manta::get_runtime_context().get_actor_id(); }
  std::string task_id() { return manta::get_runtime_context().get_task_id(); }
  int fail() { throw std::runtime_error("bad input"); }
  int nap(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
  }

private:
  int n_ = 0;
};
MANTA_ACTOR(worker, &worker::incr, &worker::nested, &worker::actor_id, &worker::task_id,
            &worker::fail, &worker::nap);

/// A task that calls an actor synchronously; with one CPU it holds the only
/// one while it waits.
int call_nested(manta::actor_handle<worker> w, int x) {
  return manta::get(w.call(&worker::nested).remote(x));
}
MANTA_REMOTE(call_nested);

/// 2 busy threads per core while it lives.
class busy_threads {
public:
  busy_threads() {
    auto n = 2 * std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i)
      threads_.emplace_back([this] {
        while (!stop_.load(std::memory_order_relaxed)) {
        }
      });
  }
  ~busy_threads() {
    stop_ = true;
    for (auto& t : threads_)
      t.join();
  }

private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

} // namespace

TEST_CASE("the detector sees 2 busy threads per core as oversubscription") {
  busy_threads load;
  auto deadline = steady::now() + 10s;
  bool seen = false;
  while (!seen && steady::now() < deadline) {
    seen = manta::detail::oversubscribed();
    std::this_thread::sleep_for(1ms);
  }
  auto s = manta::detail::last_contention_sample();
  INFO("runnable " << s.runnable << ", spinners " << s.spinners << ", cores " << s.cores);
  CHECK(seen);
  CHECK(s.runnable > s.cores);
}

TEST_CASE("the detector counts the thread that reads the load once") {
  using manta::detail::oversubscribed_given;
  // On 2 cores: the reader and one other thread fit (the other end of a
  // cross-node round trip, say); a third runnable thread does not.
  CHECK_FALSE(oversubscribed_given(2, 0, false, 2));
  CHECK(oversubscribed_given(3, 0, false, 2));
  // A reader that spins was subtracted with the spinners and counts again.
  CHECK_FALSE(oversubscribed_given(2, 1, true, 2));
  CHECK(oversubscribed_given(3, 1, true, 2));
  // Another thread's spin does not count as load.
  CHECK_FALSE(oversubscribed_given(3, 1, false, 2));
  // 2 busy threads per core and the reader.
  CHECK(oversubscribed_given(5, 0, false, 2));
  CHECK_FALSE(oversubscribed_given(-1, 0, false, 2));
}

TEST_CASE("sync calls keep their order and count under 2 busy threads per core") {
  runtime_guard rt;
  auto w = manta::actor<worker>().remote();
  busy_threads load;
  for (int i = 1; i <= 2000; ++i)
    REQUIRE(manta::get(w.call(&worker::incr).remote()) == i);
  // Calls queued behind others (not run by the caller) still come in order.
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 100; ++i)
    refs.push_back(w.call(&worker::incr).remote());
  CHECK(manta::get(refs.back()) == 2100);
  CHECK(manta::get(refs.front()) == 2001);
}

TEST_CASE("a call run by its caller shows the actor's identity and its own task id") {
  runtime_guard rt;
  auto w = manta::actor<worker>().remote();
  auto ref = w.call(&worker::actor_id).remote();
  auto id = manta::get(ref);
  CHECK(id.size() == 16);
  CHECK(manta::get_runtime_context().get_actor_id().empty()); // restored afterwards
  auto t = w.call(&worker::task_id).remote();
  CHECK(manta::get(t) == to_string(t.id()));
}

TEST_CASE("a task with the only CPU calls an actor whose method needs a CPU: no deadlock") {
  runtime_guard rt{1};
  auto w = manta::actor<worker>().num_cpus(0).remote();
  CHECK(manta::get(manta::task(call_nested).remote(w, 41), 60s) == 42);
}

namespace {

std::atomic<int> g_gone{0};

/// Counts its destructions: an actor whose handles are gone must exit.
class mortal {
public:
  ~mortal() { ++g_gone; }
  int one() { return 1; }
  /// Long enough for a drain job woken for the call to find it taken by
  /// the caller and retire while the caller still runs it.
  int slow() {
    std::this_thread::sleep_for(2ms);
    return 1;
  }
};
MANTA_ACTOR(mortal, &mortal::one, &mortal::slow);

} // namespace

TEST_CASE("an actor whose last handle went before its call ran still exits") {
  // The call may be run by its caller or by a pool thread (whoever takes it
  // first); either way the actor exits once the call is done.
  runtime_guard rt;
  constexpr int actors = 100;
  g_gone = 0;
  for (int i = 0; i < actors; ++i) {
    manta::object_ref<int> ref;
    {
      auto m = manta::actor<mortal>().remote();
      REQUIRE(manta::get(m.call(&mortal::one).remote()) == 1); // constructed by now
      ref = m.call(&mortal::slow).remote();
    } // the last handle goes here
    REQUIRE(manta::get(ref) == 1);
  }
  auto deadline = steady::now() + 20s;
  while (g_gone.load() < actors && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  CHECK(g_gone.load() == actors);
}

TEST_CASE("a failing call run by its caller fails only that call") {
  runtime_guard rt;
  auto w = manta::actor<worker>().remote();
  CHECK_THROWS_WITH_AS(manta::get(w.call(&worker::fail).remote()), doctest::Contains("bad input"),
                       manta::task_error);
  CHECK(manta::get(w.call(&worker::incr).remote()) == 1);
}

TEST_CASE("a get with a deadline is never held past it by a call it would run") {
  runtime_guard rt;
  auto w = manta::actor<worker>().remote();
  auto ref = w.call(&worker::nap).remote(2000);
  auto t0 = steady::now();
  CHECK_THROWS_AS(manta::get(ref, 100ms), manta::get_timeout_error);
  CHECK(seconds_since(t0) < 1.5);
  CHECK(manta::get(ref) == 2000);
}

namespace {

/// An async actor that notes the threads its coroutines run on, and whether
/// two of them ever ran at the same time.
class stepper {
public:
  manta::async<int> incr() {
    enter();
    int v = ++n_;
    leave();
    co_return v;
  }
  /// Suspends once: started by one thread, resumed by the drainer.
  manta::async<int> nap_then_incr(int ms) {
    enter();
    leave();
    co_await manta::sleep_for(std::chrono::milliseconds{ms});
    enter();
    int v = ++n_;
    leave();
    co_return v;
  }
  manta::async<int> fail() {
    enter();
    leave();
    throw std::runtime_error("bad input");
    co_return 0;
  }
  manta::async<std::string> actor_id() { co_return manta::get_runtime_context().get_actor_id(); }
  /// How many calls ran on thread `who` (the caller's, as a hash).
  manta::async<int> ran_on(size_t who) { co_return static_cast<int>(on_.count(who)); }
  manta::async<int> overlaps() { co_return overlaps_; }

private:
  void enter() {
    if (inside_.fetch_add(1) != 0)
      ++overlaps_;
    ++on_[std::hash<std::thread::id>{}(std::this_thread::get_id())];
  }
  void leave() { inside_.fetch_sub(1); }

  int n_ = 0;
  std::atomic<int> inside_{0};
  int overlaps_ = 0;
  std::unordered_map<size_t, int> on_;
};
MANTA_ACTOR(stepper, &stepper::incr, &stepper::nap_then_incr, &stepper::fail, &stepper::actor_id,
            &stepper::ran_on, &stepper::overlaps);

size_t this_thread_hash() {
  return std::hash<std::thread::id>{}(std::this_thread::get_id());
}

} // namespace

TEST_CASE("sync calls to an async actor: its caller starts them, one thread at a time") {
  runtime_guard rt;
  auto s = manta::actor<stepper>().remote();
  REQUIRE(manta::get(s.call(&stepper::incr).remote()) == 1); // constructed by now
  {
    // Under load the actor's drainer never lingers (no core to spare), so
    // a caller that blocks finds the drain job still waiting for a thread.
    busy_threads load;
    for (int i = 2; i <= 2001; ++i)
      REQUIRE(manta::get(s.call(&stepper::incr).remote()) == i);
    // Calls that suspend, started by the caller and resumed by a drainer,
    // beside calls queued behind them.
    std::vector<manta::object_ref<int>> refs;
    for (int i = 0; i < 20; ++i) {
      refs.push_back(s.call(&stepper::nap_then_incr).remote(1));
      refs.push_back(s.call(&stepper::incr).remote());
    }
    int sum = 0;
    for (auto& r : refs)
      sum += manta::get(r);
    CHECK(sum == (2002 + 2041) * 40 / 2); // each of 2002..2041 once
  }
  CHECK(manta::get(s.call(&stepper::overlaps).remote()) == 0);
  // Not every call: a pool thread may start the drain job first.
  CHECK(manta::get(s.call(&stepper::ran_on).remote(this_thread_hash())) > 0);
}

TEST_CASE("an async actor's call started by its caller shows the actor, and fails alone") {
  runtime_guard rt;
  auto s = manta::actor<stepper>().remote();
  auto id = manta::get(s.call(&stepper::actor_id).remote());
  CHECK(id.size() == 16);
  CHECK(manta::get_runtime_context().get_actor_id().empty()); // restored afterwards
  CHECK_THROWS_WITH_AS(manta::get(s.call(&stepper::fail).remote()), doctest::Contains("bad input"),
                       manta::task_error);
  CHECK(manta::get(s.call(&stepper::incr).remote()) == 1);
}
