// Actors: state across calls, call order, void methods, object arguments,
// handles as values (to tasks and other actors), names, kill, exit_actor,
// max_concurrency and lifetime resources.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/concurrency_peak.hpp"
#include "tests/runtime_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


class counter {
public:
  explicit counter(int start) : n_(start) {}
  int incr(int by) { return n_ += by; }
  int value() const { return n_; }
  void reset() { n_ = 0; }
  std::string label(const std::string& prefix) const { return prefix + std::to_string(n_); }
  int unlisted() { return -1; }

private:
  int n_;
};
MANTA_ACTOR(counter, &counter::incr, &counter::value, &counter::reset, &counter::label);

/// Records the order in which calls arrive.
class recorder {
public:
  recorder() = default;
  bool push(int x) {
    bool in_order = seen_.empty() || seen_.back() + 1 == x;
    seen_.push_back(x);
    return in_order;
  }
  std::vector<int> seen() const { return seen_; }

private:
  std::vector<int> seen_;
};
MANTA_ACTOR(recorder, &recorder::push, &recorder::seen);

int bump_via_handle(manta::actor_handle<counter> c, int by) {
  return manta::get(c.call(&counter::incr).remote(by), 10s);
}
MANTA_REMOTE(bump_via_handle);

int twice(int x) {
  return 2 * x;
}
MANTA_REMOTE(twice);

int nap_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
MANTA_REMOTE(nap_ms);

/// An actor that calls another actor through a handle it was given.
class forwarder {
public:
  explicit forwarder(manta::actor_handle<counter> target) : target_(std::move(target)) {}
  int forward(int by) { return manta::get(target_.call(&counter::incr).remote(by), 10s); }
  int forward_to(manta::actor_handle<counter> other, int by) {
    return manta::get(other.call(&counter::incr).remote(by), 10s);
  }

private:
  manta::actor_handle<counter> target_;
};
MANTA_ACTOR(forwarder, &forwarder::forward, &forwarder::forward_to);

/// The sleepers' calls running at once.
manta_test::concurrency_peak g_calls;

class sleeper {
public:
  sleeper() = default;
  int nap(int ms) { return g_calls.hold_for(ms); }
  void quit() { manta::exit_actor(); }
  int fail() { throw std::runtime_error("bad input"); }
};
MANTA_ACTOR(sleeper, &sleeper::nap, &sleeper::quit, &sleeper::fail);

class unregistered_actor {
public:
  int f() { return 1; }
};

} // namespace

TEST_CASE("an actor keeps its state across calls") {
  runtime_guard rt;
  auto c = manta::actor<counter>().remote(10);
  CHECK(manta::get(c.call(&counter::incr).remote(5), 10s) == 15);
  CHECK(manta::get(c.call(&counter::incr).remote(-3), 10s) == 12);
  CHECK(manta::get(c.call(&counter::value).remote(), 10s) == 12);
  manta::get(c.call(&counter::reset).remote(), 10s); // void method
  CHECK(manta::get(c.call(&counter::label).remote(std::string{"n="}), 10s) == "n=0");
}

TEST_CASE("10,000 calls from one caller run in submission order") {
  runtime_guard rt;
  auto r = manta::actor<recorder>().remote();
  std::vector<manta::object_ref<bool>> refs;
  for (int i = 0; i < 10000; ++i)
    refs.push_back(r.call(&recorder::push).remote(i));
  auto in_order = manta::get(refs, 30s);
  CHECK(std::all_of(in_order.begin(), in_order.end(), [](bool b) { return b; }));
  auto seen = manta::get(r.call(&recorder::seen).remote(), 10s);
  REQUIRE(seen.size() == 10000);
  for (int i = 0; i < 10000; ++i)
    REQUIRE(seen[i] == i);
}

TEST_CASE("a caller that submits without a pause gets results while it still submits") {
  // However the actor's drainer schedules a burst (a drainer that let calls
  // pile up until the burst ends must bound the wait), the first call's
  // result comes while the caller is still submitting.
  runtime_guard rt;
  auto c = manta::actor<counter>().remote(0);
  CHECK(manta::get(c.call(&counter::value).remote(), 10s) == 0); // the drainer now lingers
  auto first = c.call(&counter::incr).remote(1);
  std::vector<manta::object_ref<int>> refs;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!first.ready() && refs.size() < 2000000 && std::chrono::steady_clock::now() < deadline)
    refs.push_back(c.call(&counter::incr).remote(1));
  CHECK(first.ready());
  CHECK(manta::get(first, 10s) == 1);
  auto values = manta::get(refs, 60s);
  for (size_t i = 0; i < values.size(); ++i)
    REQUIRE(values[i] == static_cast<int>(i) + 2);
}

TEST_CASE("object_ref arguments are resolved before the call and the constructor run") {
  runtime_guard rt;
  auto start = manta::task(twice).remote(50);   // 100
  auto c = manta::actor<counter>().remote(start);
  auto by = manta::task(twice).remote(3);       // 6
  CHECK(manta::get(c.call(&counter::incr).remote(by), 10s) == 106);
  CHECK(manta::get(c.call(&counter::incr).remote(manta::put(1)), 10s) == 107);
}

TEST_CASE("handles are values: passed to tasks and to other actors") {
  runtime_guard rt;
  auto c = manta::actor<counter>().remote(0);
  auto copy = c;
  CHECK(copy == c);
  CHECK_FALSE(manta::actor<counter>().remote(0) == c);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 4; ++i)
    refs.push_back(manta::task(bump_via_handle).remote(c, 1));
  manta::get(refs, 10s);
  CHECK(manta::get(c.call(&counter::value).remote(), 10s) == 4);
  auto f = manta::actor<forwarder>().remote(c);
  CHECK(manta::get(f.call(&forwarder::forward).remote(10), 10s) == 14);
  auto other = manta::actor<counter>().remote(100);
  CHECK(manta::get(f.call(&forwarder::forward_to).remote(other, 1), 10s) == 101);
}

TEST_CASE("named actors: get_actor, duplicate names, wrong class") {
  runtime_guard rt;
  auto c = manta::actor<counter>().name("c1").namespace_("ns").remote(7);
  auto found = manta::get_actor<counter>("c1", "ns");
  CHECK(found == c);
  CHECK(manta::get(found.call(&counter::value).remote(), 10s) == 7);
  CHECK_THROWS_AS(manta::actor<counter>().name("c1").namespace_("ns").remote(0),
                  manta::actor_exists_error);
  // The same name in another namespace is another actor.
  auto c2 = manta::actor<counter>().name("c1").namespace_("other").remote(0);
  CHECK_FALSE(c2 == c);
  CHECK_THROWS_AS(manta::get_actor<counter>("nobody", "ns"), manta::actor_not_found_error);
  try {
    manta::get_actor<recorder>("c1", "ns");
    FAIL("expected actor_not_found_error");
  } catch (const manta::actor_not_found_error& e) {
    CHECK(std::string{e.what()}.find("counter") != std::string::npos);
  }
  // A killed actor frees its name.
  manta::kill(c);
  auto c3 = manta::actor<counter>().name("c1").namespace_("ns").remote(3);
  CHECK(manta::get(manta::get_actor<counter>("c1", "ns").call(&counter::value).remote(), 10s) == 3);
}

TEST_CASE("unregistered classes and methods are clear errors") {
  runtime_guard rt;
  auto c = manta::actor<counter>().remote(0);
  try {
    c.call(&counter::unlisted);
    FAIL("expected unknown_function_error");
  } catch (const manta::unknown_function_error& e) {
    CHECK(std::string{e.what()}.find("MANTA_ACTOR(counter") != std::string::npos);
  }
  CHECK_THROWS_AS(manta::actor<unregistered_actor>().remote(), manta::unknown_function_error);
}

TEST_CASE("a method's exception fails only that call") {
  runtime_guard rt;
  auto s = manta::actor<sleeper>().remote();
  CHECK_THROWS_AS(manta::get(s.call(&sleeper::fail).remote(), 10s), manta::task_error);
  CHECK(manta::get(s.call(&sleeper::nap).remote(1), 10s) == 1);
}

TEST_CASE("kill fails queued calls with actor_died_error naming the actor") {
  runtime_guard rt;
  auto s = manta::actor<sleeper>().name("napper").remote();
  auto running = s.call(&sleeper::nap).remote(200);
  std::vector<manta::object_ref<int>> queued;
  for (int i = 0; i < 5; ++i)
    queued.push_back(s.call(&sleeper::nap).remote(1));
  std::this_thread::sleep_for(50ms);
  manta::kill(s);
  for (auto& q : queued) {
    try {
      manta::get(q, 10s);
      FAIL("expected actor_died_error");
    } catch (const manta::actor_died_error& e) {
      std::string what = e.what();
      CHECK(what.find("sleeper 'napper'") != std::string::npos);
      CHECK(what.find("kill") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(manta::get(running, 10s), manta::actor_died_error);
  CHECK_THROWS_AS(manta::get(s.call(&sleeper::nap).remote(1), 10s), manta::actor_died_error);
}

TEST_CASE("exit_actor ends the actor for good") {
  runtime_guard rt;
  auto s = manta::actor<sleeper>().max_restarts(3).remote();
  auto q = s.call(&sleeper::quit).remote();
  auto after = s.call(&sleeper::nap).remote(1);
  CHECK_THROWS_AS(manta::get(q, 10s), manta::actor_died_error);
  try {
    manta::get(after, 10s);
    FAIL("expected actor_died_error");
  } catch (const manta::actor_died_error& e) {
    CHECK(std::string{e.what()}.find("exit_actor") != std::string::npos);
  }
  CHECK_THROWS_AS(manta::exit_actor(), manta::invalid_argument_error);
}

TEST_CASE("max_concurrency lets n calls overlap; the default runs one at a time") {
  runtime_guard rt;
  {
    g_calls.reset();
    auto s = manta::actor<sleeper>().max_concurrency(4).remote();
    std::vector<manta::object_ref<int>> refs;
    for (int i = 0; i < 8; ++i)
      refs.push_back(s.call(&sleeper::nap).remote(100));
    manta::get(refs, 20s);
    CHECK(g_calls.most.load() == 4);
  }
  {
    g_calls.reset();
    auto s = manta::actor<sleeper>().remote();
    std::vector<manta::object_ref<int>> refs;
    for (int i = 0; i < 4; ++i)
      refs.push_back(s.call(&sleeper::nap).remote(20));
    manta::get(refs, 20s);
    CHECK(g_calls.most.load() == 1);
  }
}

TEST_CASE("an actor holds its resources for its life and releases them when it dies") {
  runtime_guard rt(2);
  auto c = manta::actor<counter>().num_cpus(1).remote(0);
  manta::get(c.call(&counter::value).remote(), 10s); // constructed: lease held
  CHECK(manta::available_resources().at("CPU") == doctest::Approx(1.0));
  manta::kill(c);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (manta::available_resources().at("CPU") < 1.5
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CHECK(manta::available_resources().at("CPU") == doctest::Approx(2.0));
  CHECK_THROWS_AS(manta::actor<counter>().num_cpus(3).remote(0), manta::infeasible_task_error);
}

TEST_CASE("an actor whose handles are gone exits after its queued calls") {
  runtime_guard rt;
  manta::object_ref<int> last;
  {
    auto c = manta::actor<counter>().num_cpus(1).remote(0);
    for (int i = 0; i < 100; ++i)
      last = c.call(&counter::incr).remote(1);
  }
  CHECK(manta::get(last, 10s) == 100);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (manta::available_resources().at("CPU") < 1.5
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CHECK(manta::available_resources().at("CPU") == doctest::Approx(2.0));
}

TEST_CASE("a task holding the last handle of an actor ends cleanly (regression: deadlock)") {
  // The pool dropped a finished task while holding its lock; a task whose
  // argument was an actor's last handle then made the actor schedule its
  // retirement on that same lock, and the pool thread hung (seen in
  // queue_test under load).
  runtime_guard rt{2};
  for (int i = 0; i < 50; ++i) {
    manta::object_ref<int> r;
    {
      auto c = manta::actor<counter>().remote(i);
      r = manta::task(bump_via_handle).remote(c, 1);
    } // the task now holds the only handle
    CHECK(manta::get(r, 10s) == i + 1);
  }
  CHECK(manta::get(manta::task(twice).remote(21), 10s) == 42); // the pool still runs
}

TEST_CASE("a cancelled queued task holding the last handle of an actor is dropped cleanly") {
  // The pool dropped cancelled tasks it took off its queues while holding
  // its lock: the same deadlock as above, from the waiting queue.
  runtime_guard rt{1};
  auto busy = manta::task(nap_ms).remote(300); // holds the only CPU
  std::this_thread::sleep_for(50ms);
  {
    auto c = manta::actor<counter>().remote(0);
    auto r = manta::task(bump_via_handle).remote(c, 1); // waits for the CPU
    manta::cancel(r);
  } // the cancelled task holds the only handle
  CHECK(manta::get(busy, 10s) == 300);
  CHECK(manta::get(manta::task(twice).remote(4), 10s) == 8);
}
