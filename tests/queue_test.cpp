// manta::queue: FIFO put/get, blocking get woken by a put from a task,
// timeouts, maxsize, nowait forms, size/empty/full.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


int producer(manta::queue<int> q, int n, int delay_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{delay_ms});
  for (int i = 0; i < n; ++i)
    q.put(i);
  return n;
}
MANTA_REMOTE(producer);

} // namespace

TEST_CASE("items come out in the order they were put") {
  runtime_guard rt;
  manta::queue<std::string> q;
  CHECK(q.empty());
  for (int i = 0; i < 20; ++i)
    q.put("item" + std::to_string(i));
  CHECK(q.size() == 20);
  for (int i = 0; i < 20; ++i)
    CHECK(q.get(10s) == "item" + std::to_string(i));
  CHECK(q.empty());
}

TEST_CASE("a blocking get waits for a put from a task") {
  runtime_guard rt;
  manta::queue<int> q;
  auto t0 = steady::now();
  auto done = manta::task(producer).remote(q, 3, 200);
  CHECK(q.get(10s) == 0);
  CHECK(std::chrono::duration<double>(steady::now() - t0).count() >= 0.19);
  CHECK(q.get(10s) == 1);
  CHECK(q.get(10s) == 2);
  CHECK(manta::get(done, 10s) == 3);
}

TEST_CASE("get times out on an empty queue; get_nowait does not wait") {
  runtime_guard rt;
  manta::queue<int> q;
  auto t0 = steady::now();
  CHECK_THROWS_AS(q.get(100ms), manta::queue_empty_error);
  auto dt = std::chrono::duration<double>(steady::now() - t0).count();
  CHECK(dt >= 0.09);
  CHECK(dt < 2.0);
  CHECK_THROWS_AS(q.get_nowait(), manta::queue_empty_error);
}

TEST_CASE("maxsize bounds the queue: put times out, or blocks until a get") {
  runtime_guard rt;
  manta::queue<int> q{2};
  q.put(1);
  q.put_nowait(2);
  CHECK(q.full());
  CHECK_THROWS_AS(q.put_nowait(3), manta::queue_full_error);
  CHECK_THROWS_AS(q.put(3, 50ms), manta::queue_full_error);
  // A blocked put completes once a get makes room.
  auto t0 = steady::now();
  std::thread consumer([&] {
    std::this_thread::sleep_for(150ms);
    CHECK(q.get(10s) == 1);
  });
  q.put(3, 10s);
  consumer.join();
  CHECK(std::chrono::duration<double>(steady::now() - t0).count() >= 0.14);
  CHECK(q.get(10s) == 2);
  CHECK(q.get(10s) == 3);
  CHECK(q.size() == 0);
}
