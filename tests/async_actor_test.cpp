// Async actors: methods returning manta::async<R> wait for timers and
// objects without holding a thread, so concurrent waits overlap.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


int slow_value(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return ms;
}
MANTA_REMOTE(slow_value);

int failing_value() {
  throw std::runtime_error("remote failure");
}
MANTA_REMOTE(failing_value);

class fetcher {
public:
  fetcher() = default;

  manta::async<int> nap(int ms) {
    co_await manta::sleep_for(std::chrono::milliseconds{ms});
    co_return ms;
  }

  /// Fetches a remote value: starts a task and waits for its object.
  manta::async<int> fetch(int ms) {
    auto ref = manta::task(slow_value).remote(ms);
    int v = co_await ref;
    co_return v + 1;
  }

  manta::async<int> fetch_failing() {
    int v = co_await manta::task(failing_value).remote();
    co_return v;
  }

  /// Not thread-safe on purpose: steps of async calls never overlap.
  manta::async<void> touch() {
    int before = n_;
    co_await manta::sleep_for(1ms);
    n_ = before + 1;
    ++total_;
  }

  int total() { return total_; }

private:
  int n_ = 0;
  int total_ = 0;
};
MANTA_ACTOR(fetcher, &fetcher::nap, &fetcher::fetch, &fetcher::fetch_failing, &fetcher::touch,
            &fetcher::total);

} // namespace

TEST_CASE("three concurrent 0.3 s sleeps on one async actor take about 0.3 s") {
  runtime_guard rt{4};
  auto f = manta::actor<fetcher>().remote();
  manta::get(f.call(&fetcher::total).remote(), 10s); // constructed
  auto t0 = steady::now();
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(f.call(&fetcher::nap).remote(300));
  CHECK(manta::get(refs, 10s) == std::vector<int>{300, 300, 300});
  auto dt = seconds_since(t0);
  CHECK(dt >= 0.29);
  CHECK(dt < 0.6);
}

TEST_CASE("three concurrent 0.3 s fetches on one async actor take about 0.3 s") {
  runtime_guard rt{4};
  auto f = manta::actor<fetcher>().remote();
  manta::get(f.call(&fetcher::total).remote(), 10s);
  auto t0 = steady::now();
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(f.call(&fetcher::fetch).remote(300));
  CHECK(manta::get(refs, 10s) == std::vector<int>{301, 301, 301});
  CHECK(seconds_since(t0) < 0.6);
}

TEST_CASE("max_concurrency(1) makes an async actor run its calls one after another") {
  runtime_guard rt{4};
  auto f = manta::actor<fetcher>().max_concurrency(1).remote();
  manta::get(f.call(&fetcher::total).remote(), 10s);
  auto t0 = steady::now();
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(f.call(&fetcher::nap).remote(100));
  manta::get(refs, 10s);
  CHECK(seconds_since(t0) >= 0.29);
}

TEST_CASE("an awaited object's error fails the call, not the actor") {
  runtime_guard rt{4};
  auto f = manta::actor<fetcher>().remote();
  try {
    manta::get(f.call(&fetcher::fetch_failing).remote(), 10s);
    FAIL("expected task_error");
  } catch (const manta::task_error& e) {
    CHECK(e.message() == "remote failure");
  }
  CHECK(manta::get(f.call(&fetcher::nap).remote(1), 10s) == 1);
}

TEST_CASE("steps of async calls never overlap (one event loop per actor)") {
  runtime_guard rt{4};
  auto f = manta::actor<fetcher>().remote();
  std::vector<manta::object_ref<void>> refs;
  for (int i = 0; i < 200; ++i)
    refs.push_back(f.call(&fetcher::touch).remote());
  for (auto& r : refs)
    manta::get(r, 10s);
  CHECK(manta::get(f.call(&fetcher::total).remote(), 10s) == 200);
}
