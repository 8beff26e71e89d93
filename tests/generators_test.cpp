// Streaming generators (issue 21, item 3): a task or actor method given a
// generator_sink yields values, and its caller reads one ref per value, in
// order, each as soon as it is yielded; an exception after k items is item
// k; cancel (or dropping the stream) stops the producer at its next yield.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

void count_to(manta::generator_sink<int>& out, int n) {
  for (int i = 0; i < n; ++i)
    out.yield(i * 10);
}

/// A flag the test raises and a producer waits for (bounded: a broken
/// runtime fails the case instead of hanging it).
struct latch {
  std::mutex mtx;
  std::condition_variable cv;
  bool raised = false;
  void raise() {
    std::lock_guard<std::mutex> guard{mtx};
    raised = true;
    cv.notify_all();
  }
  void lower() {
    std::lock_guard<std::mutex> guard{mtx};
    raised = false;
  }
  bool wait(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, limit, [&] { return raised; });
  }
};
latch item0_read;

/// Yields 1, then goes on only once the caller has read item 0: if items
/// reached the caller only at the end, this would never happen.
void waits_for_reader(manta::generator_sink<std::string>& out) {
  out.yield("first");
  if (!item0_read.wait(30s))
    throw std::runtime_error("the caller never read item 0 while the producer ran");
  out.yield("second");
}

void fails_at(manta::generator_sink<int>& out, int k) {
  for (int i = 0;; ++i) {
    if (i == k)
      throw std::runtime_error("boom at " + std::to_string(k));
    out.yield(i);
  }
}

std::atomic<int> endless_yields{0};
std::atomic<bool> endless_stopped{false};
std::atomic<bool> endless_cancelled{false};

/// Yields every millisecond for up to 30 s; records how it stopped.
void endless(manta::generator_sink<int>& out) {
  auto until = std::chrono::steady_clock::now() + 30s;
  try {
    for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
      out.yield(i);
      ++endless_yields;
      std::this_thread::sleep_for(1ms);
    }
  } catch (const manta::task_cancelled_error&) {
    endless_cancelled = true;
    endless_stopped = true;
    throw;
  }
  endless_stopped = true;
}

std::atomic<int> flaky_runs{0};

/// Yields 0 and 1, then fails on its first run; the retry yields 0..3.
void flaky(manta::generator_sink<int>& out) {
  int run = ++flaky_runs;
  out.yield(0);
  out.yield(1);
  if (run == 1)
    throw std::runtime_error("first run fails after two items");
  out.yield(2);
  out.yield(3);
}

std::atomic<int> paced_yields{0};
std::atomic<bool> paced_over{false};

/// Yields 0..n-1 as fast as it is let, counting the yields that returned;
/// notes when it stops (at the end, or a cancel at a yield).
void paced(manta::generator_sink<int>& out, int n) {
  struct over_guard {
    ~over_guard() { paced_over = true; }
  } guard;
  for (int i = 0; i < n; ++i) {
    out.yield(i);
    ++paced_yields;
  }
}

MANTA_REMOTE(count_to, waits_for_reader, fails_at, endless, flaky, paced);

class numbers {
public:
  explicit numbers(int base) : base_(base) {}
  void range(manta::generator_sink<int>& out, int n) {
    for (int i = 0; i < n; ++i)
      out.yield(base_ + i);
    base_ += n; // actor state moves on with each call
  }
  void words(manta::generator_sink<std::string>& out, std::string text) const {
    std::string word;
    for (char c : text + " ") {
      if (c != ' ') {
        word += c;
      } else if (!word.empty()) {
        if (word == "bad")
          throw std::invalid_argument("bad word");
        out.yield(word);
        word.clear();
      }
    }
  }

  void paced_range(manta::generator_sink<int>& out, int n) { paced(out, n); }

private:
  int base_;
};
MANTA_ACTOR(numbers, &numbers::range, &numbers::words, &numbers::paced_range);

/// Waits (bounded) until `count` reaches `want`; returns its value then.
int settles_at(const std::atomic<int>& count, int want) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (count.load() < want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return count.load();
}

/// Reads `paced`'s n items produced with back pressure `window`: before
/// each read the producer has run exactly `window` items ahead of the
/// reader (it gets that far while the reader waits, and no further), and
/// the stream completes in order.
void check_window(manta::object_ref_generator<int> gen, int n, int window) {
  for (int taken = 0; taken < n; ++taken) {
    int ahead = std::min(n, taken + window);
    CHECK(settles_at(paced_yields, ahead) == ahead); // never more than the window ahead
    auto ref = gen.next(20s);
    REQUIRE(ref.has_value());
    CHECK(manta::get(*ref, 10s) == taken);
  }
  CHECK_FALSE(gen.next(20s).has_value());
  CHECK(gen.finished());
  CHECK(paced_yields == n);
}

template <class T>
std::vector<T> drain(manta::object_ref_generator<T>& gen) {
  std::vector<T> out;
  while (auto ref = gen.next(20s))
    out.push_back(manta::get(*ref, 10s));
  return out;
}

/// Whether the object store lists `id` as live.
bool alive(manta::object_id id) {
  auto report = manta::memory_summary();
  return std::any_of(report.objects.begin(), report.objects.end(),
                     [&](auto& o) { return o.id == id; });
}

template <class F>
bool soon(F&& f, std::chrono::seconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!f() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  return f();
}

} // namespace

TEST_CASE("items arrive in order, each an object of its own, then the end") {
  runtime_guard rt{2};
  manta::object_ref_generator<int> gen = manta::task(count_to).remote(5);
  std::vector<manta::object_ref<int>> refs;
  for (auto& ref : gen)
    refs.push_back(ref);
  REQUIRE(refs.size() == 5);
  for (int i = 0; i < 5; ++i)
    CHECK(manta::get(refs[i]) == i * 10);
  for (int i = 1; i < 5; ++i)
    CHECK(refs[i].id() != refs[i - 1].id());
  CHECK(gen.finished());
  CHECK_FALSE(gen.next().has_value());
  // Each item is freed when its last ref goes, the others stay.
  auto first = refs[0].id();
  auto second = refs[1].id();
  refs.erase(refs.begin());
  CHECK(soon([&] { return !alive(first); }));
  CHECK(alive(second));
  CHECK(manta::get(refs[0]) == 10);
}

TEST_CASE("an object_ref argument is waited for; zero items is a stream that just ends") {
  runtime_guard rt{2};
  auto n = manta::put(3);
  auto gen = manta::task(count_to).remote(n);
  CHECK(drain(gen) == std::vector<int>{0, 10, 20});
  auto none = manta::task(count_to).num_cpus(1).remote(0);
  CHECK_FALSE(none.next(20s).has_value());
  CHECK(none.finished());
}

TEST_CASE("an item is readable while the producer still runs") {
  runtime_guard rt{2};
  item0_read.lower();
  auto gen = manta::task(waits_for_reader).remote();
  auto first = gen.next(10s);
  REQUIRE(first.has_value()); // at the end only, this would time out
  CHECK(manta::get(*first) == "first");
  CHECK_FALSE(gen.finished());
  item0_read.raise();
  auto second = gen.next(20s);
  REQUIRE(second.has_value());
  CHECK(manta::get(*second) == "second"); // throws if the producer gave up
  CHECK_FALSE(gen.next(20s).has_value());
}

TEST_CASE("an exception after k items is item k; the items before it stay readable") {
  runtime_guard rt{2};
  auto gen = manta::task(fails_at).remote(3);
  std::vector<manta::object_ref<int>> refs;
  while (auto ref = gen.next(20s))
    refs.push_back(*ref);
  REQUIRE(refs.size() == 4);
  for (int i = 0; i < 3; ++i)
    CHECK(manta::get(refs[i]) == i);
  CHECK_THROWS_WITH_AS(manta::get(refs[3]), doctest::Contains("boom at 3"), manta::task_error);
  CHECK(gen.finished());
  // At k = 0 the error is the first item.
  auto at0 = manta::task(fails_at).remote(0);
  auto only = at0.next(20s);
  REQUIRE(only.has_value());
  CHECK_THROWS_AS(manta::get(*only), manta::task_error);
  CHECK_FALSE(at0.next(5s).has_value());
}

TEST_CASE("cancel stops the producer at its next yield") {
  runtime_guard rt{2};
  endless_yields = 0;
  endless_stopped = false;
  endless_cancelled = false;
  auto gen = manta::task(endless).remote();
  REQUIRE(gen.next(10s).has_value());
  REQUIRE(gen.next(10s).has_value());
  gen.cancel();
  REQUIRE(soon([] { return endless_stopped.load(); }));
  CHECK(endless_cancelled);
  int yields = endless_yields;
  // What was yielded before the cancel stays readable; then the cancel.
  std::vector<manta::object_ref<int>> rest;
  while (auto ref = gen.next(10s))
    rest.push_back(*ref);
  REQUIRE_FALSE(rest.empty());
  CHECK_THROWS_AS(manta::get(rest.back()), manta::task_cancelled_error);
  for (size_t i = 0; i + 1 < rest.size(); ++i)
    CHECK(manta::get(rest[i]) == static_cast<int>(i) + 2);
  std::this_thread::sleep_for(20ms);
  CHECK(endless_yields == yields); // it yields no more
}

TEST_CASE("dropping the stream before its end stops the producer") {
  runtime_guard rt{2};
  endless_stopped = false;
  endless_cancelled = false;
  {
    auto gen = manta::task(endless).remote();
    REQUIRE(gen.next(10s).has_value());
  }
  CHECK(soon([] { return endless_stopped.load(); }));
  CHECK(endless_cancelled);
}

TEST_CASE("next(timeout) gives up at the deadline without ending the stream") {
  runtime_guard rt{2};
  item0_read.lower();
  auto gen = manta::task(waits_for_reader).remote();
  REQUIRE(gen.next(10s).has_value());
  auto t0 = steady::now();
  CHECK_FALSE(gen.next(50ms).has_value()); // the producer waits for us
  CHECK(seconds_since(t0) >= 0.04);
  CHECK_FALSE(gen.finished());
  gen.cancel();
  item0_read.raise(); // the producer goes on to its next yield, which stops it
  auto rest = gen.next(20s);
  REQUIRE(rest.has_value());
  CHECK_THROWS_AS(manta::get(*rest), manta::task_cancelled_error);
}

TEST_CASE("a retried producer does not deliver its items twice") {
  runtime_guard rt{2};
  flaky_runs = 0;
  auto gen = manta::task(flaky).max_retries(1).retry_exceptions().remote();
  CHECK(drain(gen) == std::vector<int>{0, 1, 2, 3});
  CHECK(flaky_runs == 2);
}

TEST_CASE("actor methods stream too, in call order, with the actor's state") {
  runtime_guard rt{2};
  auto h = manta::actor<numbers>().remote(100);
  auto a = h.call(&numbers::range).remote(3);
  auto b = h.call(&numbers::range).remote(2);
  CHECK(drain(a) == std::vector<int>{100, 101, 102});
  CHECK(drain(b) == std::vector<int>{103, 104});
  auto w = h.call(&numbers::words).name("split words").remote("to be or");
  CHECK(drain(w) == std::vector<std::string>{"to", "be", "or"});
  // An exception mid-stream is the item where it happened.
  auto bad = h.call(&numbers::words).remote("one bad two");
  auto one = bad.next(20s);
  REQUIRE(one.has_value());
  CHECK(manta::get(*one) == "one");
  auto err = bad.next(20s);
  REQUIRE(err.has_value());
  CHECK_THROWS_WITH(manta::get(*err), doctest::Contains("bad word"));
  CHECK_FALSE(bad.next(5s).has_value());
}

TEST_CASE("generator_backpressure keeps the producer at most N items ahead of the reader") {
  runtime_guard rt{2};
  paced_yields = 0;
  check_window(manta::task(paced).generator_backpressure(3).remote(40), 40, 3);
  paced_yields = 0;
  check_window(manta::task(paced).generator_backpressure(1).remote(10), 10, 1);
  // A method of an actor, the same.
  auto h = manta::actor<numbers>().remote(0);
  paced_yields = 0;
  check_window(h.call(&numbers::paced_range).generator_backpressure(4).remote(30), 30, 4);
  // Without it the producer does not wait for the reader.
  paced_yields = 0;
  auto free_run = manta::task(paced).remote(50);
  CHECK(settles_at(paced_yields, 50) == 50);
  CHECK(drain(free_run).size() == 50);
}

TEST_CASE("a producer waiting for room stops when its stream is cancelled or dropped") {
  runtime_guard rt{2};
  paced_yields = 0;
  paced_over = false;
  auto gen = manta::task(paced).generator_backpressure(2).remote(1000);
  REQUIRE(settles_at(paced_yields, 2) == 2); // now parked at its third yield
  gen.cancel();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!paced_over && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  CHECK(paced_over);
  CHECK(paced_yields == 2);
  std::vector<manta::object_ref<int>> refs;
  while (auto ref = gen.next(20s))
    refs.push_back(*ref);
  REQUIRE(refs.size() == 3);
  CHECK(manta::get(refs[1]) == 1);
  CHECK_THROWS_AS(manta::get(refs[2]), manta::task_cancelled_error);

  // Dropped by its caller while the producer waits: it stops too.
  paced_yields = 0;
  paced_over = false;
  {
    auto dropped = manta::task(paced).generator_backpressure(2).remote(1000);
    REQUIRE(settles_at(paced_yields, 2) == 2);
  }
  deadline = std::chrono::steady_clock::now() + 20s;
  while (!paced_over && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  CHECK(paced_over);
  CHECK(paced_yields == 2);
}
