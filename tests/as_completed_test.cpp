// as_completed: refs handed out in the order they complete, each once, at a
// constant cost per ref (the quadratic `wait(pending, 1)` loop's
// replacement).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Tasks that end only when the test lets them: the test decides the order
/// in which they complete, with no timing involved.
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  std::set<int> open;
};
gate the_gate;

void open_gate(int k) {
  std::lock_guard<std::mutex> guard{the_gate.mtx};
  the_gate.open.insert(k);
  the_gate.cv.notify_all();
}

int gated(int k) {
  std::unique_lock<std::mutex> lock{the_gate.mtx};
  // Bounded: a broken test fails instead of hanging.
  if (!the_gate.cv.wait_for(lock, 60s, [&] { return the_gate.open.count(k) > 0; }))
    throw std::runtime_error("gate " + std::to_string(k) + " never opened");
  if (k < 0)
    throw std::runtime_error("negative gate");
  return k * 10;
}

int forever_until_cancelled() {
  std::vector<manta::object_ref<int>> refs{manta::task(gated).remote(1000)};
  for (auto& r : manta::as_completed(std::move(refs)))
    return manta::get(r);
  return -1;
}

int plus_one(int x) {
  return x + 1;
}

/// Submits `n` tasks and drains them with as_completed: on a 1-CPU node
/// this only ends if the blocked parent lends its CPU.
int drain_children(int n) {
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < n; ++i)
    refs.push_back(manta::task(plus_one).remote(i));
  int sum = 0;
  for (auto& r : manta::as_completed(std::move(refs)))
    sum += manta::get(r);
  return sum;
}

MANTA_REMOTE(gated, forever_until_cancelled, plus_one, drain_children);

void reset_gate() {
  std::lock_guard<std::mutex> guard{the_gate.mtx};
  the_gate.open.clear();
}

/// Opens gate `k` and takes the next ref `done` hands out (within 30 s),
/// which holds that task's result, 10 k; returns the ref.
manta::object_ref<int> open_and_take(manta::completed_refs<int>& done, int k) {
  open_gate(k);
  auto ref = done.next(30s);
  REQUIRE(ref.has_value());
  CHECK(manta::get(*ref) == k * 10);
  return *ref;
}

} // namespace

TEST_CASE("refs come out in the order their tasks complete, each once") {
  runtime_guard rt{4};
  reset_gate();
  std::vector<manta::object_ref<int>> refs;
  for (int k = 0; k < 3; ++k)
    refs.push_back(manta::task(gated).remote(k));
  auto done = manta::as_completed(refs);
  CHECK(done.remaining() == 3);
  for (int k : {2, 0, 1})
    CHECK(open_and_take(done, k).id() == refs[static_cast<size_t>(k)].id());
  CHECK(done.remaining() == 0);
  CHECK_FALSE(done.next().has_value());
}

TEST_CASE("a timeout with nothing ready gives nothing and keeps the ref") {
  runtime_guard rt{2};
  reset_gate();
  std::vector<manta::object_ref<int>> refs{manta::task(gated).remote(7)};
  auto done = manta::as_completed(std::move(refs));
  auto t0 = steady::now();
  CHECK_FALSE(done.next(50ms).has_value());
  CHECK(seconds_since(t0) >= 0.05);
  CHECK(done.remaining() == 1);
  open_and_take(done, 7);
}

TEST_CASE("a failed task's ref comes out too; its get throws") {
  runtime_guard rt{2};
  reset_gate();
  std::vector<manta::object_ref<int>> refs{manta::task(gated).remote(-1),
                                           manta::task(gated).remote(3)};
  open_gate(-1);
  auto done = manta::as_completed(refs);
  auto first = done.next(30s);
  REQUIRE(first.has_value());
  CHECK(first->id() == refs[0].id());
  CHECK_THROWS_WITH(manta::get(*first), doctest::Contains("negative gate"));
  open_and_take(done, 3);
}

TEST_CASE("objects ready before the call come out in the order they were sealed") {
  runtime_guard rt{2};
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 5; ++i)
    refs.push_back(manta::put(i));
  // Listed in reverse: the put order is the seal order.
  std::vector<manta::object_ref<int>> reversed(refs.rbegin(), refs.rend());
  std::vector<int> seen;
  for (auto& r : manta::as_completed(std::move(reversed)))
    seen.push_back(manta::get(r));
  CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("a long list is drained exactly once per ref") {
  runtime_guard rt{2};
  constexpr int n = 100000;
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i)
    refs.push_back(i % 2 == 0 ? manta::put(i) : manta::task(plus_one).remote(i - 1));
  std::set<manta::object_id> ids;
  long sum = 0;
  for (auto& r : manta::as_completed(std::move(refs))) {
    ids.insert(r.id());
    sum += manta::get(r);
  }
  CHECK(ids.size() == static_cast<size_t>(n));
  CHECK(sum == static_cast<long>(n) * (n - 1) / 2); // put(i) and plus_one(i - 1) both give i
}

TEST_CASE("an empty list ends at once; an empty ref is refused") {
  runtime_guard rt{1};
  int steps = 0;
  for ([[maybe_unused]] auto& r : manta::as_completed(std::vector<manta::object_ref<int>>{}))
    ++steps;
  CHECK(steps == 0);
  std::vector<manta::object_ref<int>> holes(1);
  CHECK_THROWS_AS(manta::as_completed(std::move(holes)), manta::invalid_argument_error);
}

TEST_CASE("a task draining its children lends its CPU: no deadlock with one CPU") {
  runtime_guard rt{1};
  auto ref = manta::task(drain_children).remote(8);
  CHECK(manta::get(ref, 60s) == 8 * 9 / 2);
}

TEST_CASE("a task blocked in as_completed stops when it is cancelled") {
  runtime_guard rt{2};
  reset_gate();
  auto ref = manta::task(forever_until_cancelled).remote();
  // Wait until it runs (its child is submitted and blocks on gate 1000).
  auto deadline = steady::now() + 30s;
  while (steady::now() < deadline) {
    auto tasks = manta::list_tasks();
    bool child_running = false;
    for (auto& t : tasks)
      child_running = child_running
                      || (t.name.find("gated") != std::string::npos
                          && t.state == manta::task_state::running);
    if (child_running)
      break;
    std::this_thread::sleep_for(5ms);
  }
  manta::cancel(ref);
  CHECK_THROWS_AS(manta::get(ref, 30s), manta::task_cancelled_error);
  open_gate(1000); // the child ends; nothing waits for it
}
