// Async actors in a simulation (docs/simulation.md): `co_await
// manta::sleep_for(d)` waits d of virtual time and `co_await ref` is woken
// by an event, so their runs are part of the trace (no "external" work
// from CAF's threads) and replay from the seed.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "sim_guard.hpp"
#include "slow_square.hpp"

#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

using manta_test::exact_latency;
using manta_test::kill_at;
using manta_test::sim_guard;

namespace {

class napper {
public:
  manta::async<int> nap(int ms) {
    co_await manta::sleep_for(std::chrono::milliseconds{ms});
    co_return ms;
  }

  /// Waits for a task's result without holding a thread.
  manta::async<long> square_of(long x) {
    long v = co_await manta::task(slow_square).remote(x);
    co_return v + 1;
  }

  /// Steps of one actor's calls never overlap: a read, a wait, a write.
  manta::async<int> count_after(int ms) {
    int before = count_;
    co_await manta::sleep_for(std::chrono::milliseconds{ms});
    count_ = before + 1;
    co_return count_;
  }

  int ready() { return 0; }

private:
  int count_ = 0;
};
MANTA_ACTOR(napper, &napper::nap, &napper::square_of, &napper::count_after, &napper::ready);

} // namespace

TEST_CASE("an async actor's sleep_for waits virtual time; concurrent waits overlap") {
  sim_guard g{exact_latency(2, 0ns)};
  auto a = manta::actor<napper>().remote();
  manta::get(a.call(&napper::ready).remote()); // constructed
  auto real = std::chrono::steady_clock::now();
  auto start = manta::now();
  std::vector<manta::object_ref<int>> naps;
  for (int i = 0; i < 3; ++i)
    naps.push_back(a.call(&napper::nap).remote(500));
  CHECK(manta::get(naps) == std::vector<int>{500, 500, 500});
  CHECK(manta::now() - start == 500ms); // the three waits overlap
  auto one = a.call(&napper::nap).remote(3'600'000); // an hour
  CHECK_THROWS_AS(manta::get(one, 1s), manta::get_timeout_error);
  CHECK(manta::get(one) == 3'600'000);
  CHECK(manta::now() - start == 500ms + 1h);
  CHECK(std::chrono::steady_clock::now() - real < 30s); // none of it real
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("an async actor's co_await on a task's result is woken by the simulation") {
  sim_guard g{exact_latency(2, 0ns)};
  auto a = manta::actor<napper>().remote();
  auto start = manta::now();
  std::vector<manta::object_ref<long>> refs;
  for (long i = 1; i <= 4; ++i)
    refs.push_back(a.call(&napper::square_of).remote(i));
  CHECK(manta::get(refs) == std::vector<long>{2, 5, 10, 17});
  // Four 10 ms tasks on 2 nodes of 2 CPUs: one round.
  CHECK(manta::now() - start == 10ms);
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("a cancelled async call stops at its wait, in virtual time") {
  sim_guard g{exact_latency(2, 0ns)};
  auto a = manta::actor<napper>().remote();
  manta::get(a.call(&napper::ready).remote());
  auto start = manta::now();
  auto r = a.call(&napper::nap).remote(3'600'000);
  CHECK_THROWS_AS(manta::get(r, 10ms), manta::get_timeout_error);
  manta::cancel(r);
  CHECK_THROWS_AS(manta::get(r), manta::task_cancelled_error);
  CHECK(manta::now() - start < 1h);
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("async actors replay: the same seed gives the same values and trace") {
  auto run = [](uint64_t seed) {
    manta::simulation_options s;
    s.nodes = 4;
    s.seed = seed;
    s.jitter = 2ms; // drawn from the seed
    s.faults.push_back(kill_at(25ms, 2));
    sim_guard g{s};
    std::vector<manta::actor_handle<napper>> actors;
    for (int i = 0; i < 3; ++i)
      actors.push_back(manta::actor<napper>().max_restarts(2).max_task_retries(2).remote());
    std::vector<manta::object_ref<int>> counts;
    std::vector<manta::object_ref<long>> squares;
    for (int round = 0; round < 10; ++round)
      for (size_t i = 0; i < actors.size(); ++i) {
        counts.push_back(actors[i].call(&napper::count_after).remote(1 + (round * 7 + int(i)) % 5));
        squares.push_back(actors[i].call(&napper::square_of).remote(round));
      }
    long sum = 0;
    for (auto& c : counts)
      sum += manta::get(c);
    for (auto& q : squares)
      sum += manta::get(q);
    auto s2 = manta::sim::summary();
    CHECK(s2.external_events == 0);
    return std::pair{sum, s2.trace_hash};
  };
  manta_test::check_same_seed_same_run(run, 7, 8);
}

namespace {

/// Yields 0, 10, 20... with `ms` of virtual time before each.
void paced_items(manta::generator_sink<int>& out, int n, int ms) {
  for (int i = 0; i < n; ++i) {
    manta::sleep(std::chrono::milliseconds{ms});
    out.yield(i * 10);
  }
}

int yielded = 0;

/// Yields 0..n-1 as fast as it is let, counting the yields that returned.
void counted(manta::generator_sink<int>& out, int n) {
  for (int i = 0; i < n; ++i) {
    out.yield(i);
    ++yielded;
  }
}
MANTA_REMOTE(paced_items, counted);

} // namespace

TEST_CASE("a streaming generator's items reach its reader in virtual time") {
  sim_guard g{exact_latency(2, 0ns)};
  auto start = manta::now();
  auto gen = manta::task(paced_items).remote(4, 10);
  std::vector<int> values;
  std::vector<std::chrono::nanoseconds> when;
  for (auto& ref : gen) {
    values.push_back(manta::get(ref));
    when.push_back(manta::now() - start);
  }
  CHECK(values == std::vector<int>{0, 10, 20, 30});
  CHECK(when == std::vector<std::chrono::nanoseconds>{10ms, 20ms, 30ms, 40ms});
  yielded = 0;
  auto slow = manta::task(counted).generator_backpressure(2).remote(10);
  auto first = slow.next();
  REQUIRE(first.has_value());
  manta::sleep(1s); // the producer waits for room meanwhile
  CHECK(yielded <= 3);
  int n = 1;
  while (slow.next())
    ++n;
  CHECK(n == 10);
  CHECK(yielded == 10);
  CHECK(manta::sim::summary().external_events == 0);
}
