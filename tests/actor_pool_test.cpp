// actor_pool: ordered and unordered map, submit/get_next/has_next, and
// balanced load over the actors.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


class worker {
public:
  explicit worker(int id) : id_(id) {}
  /// Returns id * 1000 + x * x so the caller sees who did the work.
  int square(int x, int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    ++done_;
    return id_ * 1000 + x * x;
  }
  int done() const { return done_; }

private:
  int id_;
  int done_ = 0;
};
MANTA_ACTOR(worker, &worker::square, &worker::done);

std::vector<manta::actor_handle<worker>> make_workers(int n) {
  std::vector<manta::actor_handle<worker>> out;
  for (int i = 0; i < n; ++i)
    out.push_back(manta::actor<worker>().remote(i));
  return out;
}

} // namespace

TEST_CASE("map returns results in input order and spreads 12 items as 4 per actor") {
  runtime_guard rt;
  auto ws = make_workers(3);
  manta::actor_pool<worker> pool{ws};
  std::vector<int> items(12);
  for (int i = 0; i < 12; ++i)
    items[i] = i;
  // Ordered map hands item k+3 to the actor that returned result k, so
  // the assignment is round-robin whatever the timing: exactly 4 each.
  auto out = pool.map([](auto& a, int x) { return a.call(&worker::square).remote(x, 5); }, items);
  REQUIRE(out.size() == 12);
  std::map<int, int> per_actor;
  for (int i = 0; i < 12; ++i) {
    CHECK(out[i] % 1000 == i * i);
    ++per_actor[out[i] / 1000];
  }
  CHECK(per_actor.size() == 3);
  for (auto& [id, n] : per_actor)
    CHECK(n == 4);
  for (auto& w : ws)
    CHECK(manta::get(w.call(&worker::done).remote(), 10s) == 4);
  CHECK_FALSE(pool.has_next());
}

TEST_CASE("map_unordered returns every result; a slow item does not hold up the rest") {
  runtime_guard rt;
  manta::actor_pool<worker> pool{make_workers(3)};
  std::vector<int> items{0, 1, 2, 3, 4, 5};
  // Item 0 is slow: the other actors take the remaining items meanwhile.
  auto out = pool.map_unordered(
    [](auto& a, int x) { return a.call(&worker::square).remote(x, x == 0 ? 300 : 5); }, items);
  REQUIRE(out.size() == 6);
  CHECK(out.back() % 1000 == 0); // the slow item finishes last
  std::vector<int> squares;
  for (auto v : out)
    squares.push_back(v % 1000);
  std::sort(squares.begin(), squares.end());
  CHECK(squares == std::vector<int>{0, 1, 4, 9, 16, 25});
}

TEST_CASE("submit queues work beyond the idle actors; get_next drains it") {
  runtime_guard rt;
  manta::actor_pool<worker> pool{make_workers(2)};
  CHECK_FALSE(pool.has_next());
  for (int i = 0; i < 5; ++i)
    pool.submit([](auto& a, int x) { return a.call(&worker::square).remote(x, 1); }, i);
  CHECK(pool.num_idle() == 0);
  std::vector<int> got;
  while (pool.has_next())
    got.push_back(pool.get_next<int>(10s) % 1000);
  CHECK(got == std::vector<int>{0, 1, 4, 9, 16});
  CHECK(pool.num_idle() == 2);
  CHECK_THROWS_AS(pool.get_next<int>(), manta::error);
}

TEST_CASE("get_next times out while the result is pending") {
  runtime_guard rt;
  manta::actor_pool<worker> pool{make_workers(1)};
  pool.submit([](auto& a, int x) { return a.call(&worker::square).remote(x, 300); }, 3);
  CHECK_THROWS_AS(pool.get_next<int>(10ms), manta::get_timeout_error);
  CHECK(pool.get_next<int>(10s) == 9);
}
