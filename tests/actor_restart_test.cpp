// Actor death and restart: max_restarts, was_restarted, max_task_retries,
// constructor failures, and actor_died_error once no restarts are left.
// Every get has a timeout, so a lost call fails the test instead of hanging.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


std::atomic<int> g_constructed{0};

class fragile {
public:
  explicit fragile(int start) : n_(start) { ++g_constructed; }
  int incr() { return ++n_; }
  bool restarted() { return manta::was_restarted(); }
  int restarts() { return manta::restart_count(); }
  int crash() { throw manta::actor_crash("simulated crash"); }
  /// Crashes on the first instance only, so a retry on the next succeeds.
  int crash_once(int x) {
    if (!manta::was_restarted())
      throw manta::actor_crash("first instance crashes");
    return x * 10;
  }
  int slow(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    return ms;
  }

private:
  int n_;
};
MANTA_ACTOR(fragile, &fragile::incr, &fragile::restarted, &fragile::restarts, &fragile::crash,
            &fragile::crash_once, &fragile::slow);

std::atomic<int> g_ctor_attempts{0};

class bad_ctor {
public:
  explicit bad_ctor(int fail_times) {
    if (++g_ctor_attempts <= fail_times)
      throw std::runtime_error("constructor failure " + std::to_string(g_ctor_attempts.load()));
  }
  int ping() { return manta::restart_count(); }
};
MANTA_ACTOR(bad_ctor, &bad_ctor::ping);

} // namespace

TEST_CASE("a crashed actor restarts: state is rebuilt, was_restarted is true, calls go on") {
  runtime_guard rt;
  g_constructed = 0;
  auto a = manta::actor<fragile>().max_restarts(1).remote(100);
  CHECK(manta::get(a.call(&fragile::incr).remote(), 10s) == 101);
  CHECK_FALSE(manta::get(a.call(&fragile::restarted).remote(), 10s));
  auto crash = a.call(&fragile::crash).remote();
  // Queued behind the crash: these run on the new instance.
  auto after1 = a.call(&fragile::incr).remote();
  auto after2 = a.call(&fragile::restarted).remote();
  try {
    manta::get(crash, 10s);
    FAIL("expected actor_died_error");
  } catch (const manta::actor_died_error& e) {
    CHECK(std::string{e.what()}.find("simulated crash") != std::string::npos);
  }
  CHECK(manta::get(after1, 10s) == 101); // constructor re-ran with the original 100
  CHECK(manta::get(after2, 10s));
  CHECK(manta::get(a.call(&fragile::restarts).remote(), 10s) == 1);
  CHECK(g_constructed.load() == 2);
}

TEST_CASE("no call is lost when the actor dies for good") {
  runtime_guard rt;
  auto a = manta::actor<fragile>().name("glass").max_restarts(0).remote(0);
  auto slow = a.call(&fragile::slow).remote(50);
  auto crash = a.call(&fragile::crash).remote();
  std::vector<manta::object_ref<int>> pending;
  for (int i = 0; i < 50; ++i)
    pending.push_back(a.call(&fragile::incr).remote());
  CHECK(manta::get(slow, 10s) == 50);
  CHECK_THROWS_AS(manta::get(crash, 10s), manta::actor_died_error);
  int failed = 0;
  for (auto& p : pending) {
    try {
      manta::get(p, 10s);
    } catch (const manta::actor_died_error& e) {
      std::string what = e.what();
      if (what.find("fragile 'glass'") != std::string::npos
          && what.find("actor_crash") != std::string::npos)
        ++failed;
    }
  }
  CHECK(failed == 50);
  CHECK_THROWS_AS(manta::get(a.call(&fragile::incr).remote(), 10s), manta::actor_died_error);
}

TEST_CASE("max_task_retries re-runs the call that was running when the actor died") {
  runtime_guard rt;
  auto with = manta::actor<fragile>().max_restarts(1).max_task_retries(1).remote(0);
  CHECK(manta::get(with.call(&fragile::crash_once).remote(4), 10s) == 40);
  auto without = manta::actor<fragile>().max_restarts(1).remote(0);
  CHECK_THROWS_AS(manta::get(without.call(&fragile::crash_once).remote(4), 10s),
                  manta::actor_died_error);
  CHECK(manta::get(without.call(&fragile::crash_once).remote(5), 10s) == 50);
}

TEST_CASE("kill with no_restart=false restarts the actor") {
  runtime_guard rt;
  auto a = manta::actor<fragile>().max_restarts(2).remote(0);
  CHECK(manta::get(a.call(&fragile::incr).remote(), 10s) == 1);
  manta::kill(a, /*no_restart=*/false);
  CHECK(manta::get(a.call(&fragile::incr).remote(), 10s) == 1);
  CHECK(manta::get(a.call(&fragile::restarts).remote(), 10s) == 1);
  manta::kill(a); // no_restart defaults to true
  CHECK_THROWS_AS(manta::get(a.call(&fragile::incr).remote(), 10s), manta::actor_died_error);
}

TEST_CASE("a failing constructor counts as a death and is retried while restarts are left") {
  runtime_guard rt;
  g_ctor_attempts = 0;
  auto ok = manta::actor<bad_ctor>().max_restarts(2).remote(2);
  CHECK(manta::get(ok.call(&bad_ctor::ping).remote(), 10s) == 2);
  g_ctor_attempts = 0;
  auto dead = manta::actor<bad_ctor>().max_restarts(1).remote(5);
  try {
    manta::get(dead.call(&bad_ctor::ping).remote(), 10s);
    FAIL("expected actor_died_error");
  } catch (const manta::actor_died_error& e) {
    std::string what = e.what();
    CHECK(what.find("bad_ctor") != std::string::npos);
    CHECK(what.find("constructor failure 2") != std::string::npos);
  }
}
