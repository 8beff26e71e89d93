// The parker under the blocking get: no wake-up may be lost, even when stale
// unparks from earlier waits arrive at the same moment as the real one.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/sched/parker.hpp"

#include <atomic>
#include <chrono>
#include <thread>

using manta::detail::parker;
using namespace std::chrono_literals;

TEST_CASE("an unpark before park makes park return at once") {
  parker p;
  p.unpark();
  auto t0 = parker::clock::now();
  CHECK(p.park_until(t0 + 5s));
  CHECK(parker::clock::now() - t0 < 1s);
}

TEST_CASE("park_until returns false at its deadline without an unpark") {
  parker p;
  auto t0 = parker::clock::now();
  CHECK_FALSE(p.park_until(t0 + 50ms));
  CHECK(parker::clock::now() - t0 >= 50ms);
}

TEST_CASE("a sleeping thread is woken by unpark") {
  parker p;
  std::atomic<bool> ready{false};
  std::thread t{[&] {
    std::this_thread::sleep_for(100ms); // long enough for park to reach the futex
    ready.store(true);
    p.unpark();
  }};
  auto t0 = parker::clock::now();
  while (!ready.load())
    p.park_until(t0 + 10s);
  CHECK(parker::clock::now() - t0 < 5s);
  t.join();
}

TEST_CASE("no wake-up is lost when stale unparks race the real one") {
  // A ping-pong of 20,000 rounds while a third thread keeps unparking the
  // waiter (as late notifications of earlier gets do). Every round's wait is
  // bounded: a lost wake-up shows up as a round that needs its full second.
  parker p;
  std::atomic<int> round{0};
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  constexpr int rounds = 20000;
  std::thread noise{[&] {
    while (!stop.load(std::memory_order_relaxed)) {
      p.unpark();
      std::this_thread::yield();
    }
  }};
  std::thread producer{[&] {
    for (int i = 1; i <= rounds; ++i) {
      round.store(i, std::memory_order_release);
      p.unpark();
      while (acked.load(std::memory_order_acquire) != i)
        std::this_thread::yield();
    }
  }};
  int slow_rounds = 0;
  for (int i = 1; i <= rounds; ++i) {
    auto deadline = parker::clock::now() + 1s;
    while (round.load(std::memory_order_acquire) != i) {
      if (!p.park_until(deadline) && parker::clock::now() >= deadline) {
        ++slow_rounds;
        deadline = parker::clock::now() + 1s;
      }
    }
    acked.store(i, std::memory_order_release);
  }
  stop.store(true);
  producer.join();
  noise.join();
  CHECK(slow_rounds == 0);
}
