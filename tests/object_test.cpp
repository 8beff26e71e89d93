// The object store as user code sees it: put/get of values, zero-copy
// sharing, get of many refs, and wait in completion order.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


struct point {
  int x = 0;
  int y = 0;
  std::string label;
  std::map<std::string, double> tags;
  friend bool operator==(const point&, const point&) = default;
};

int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return ms;
}

int fail_after_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  throw std::runtime_error("failed on purpose");
}

int identity(int x) {
  return x;
}

/// Counts live instances, to see when the store lets go of a value.
struct tracked {
  static inline std::atomic<int> alive{0};
  int value;
  explicit tracked(int v) : value(v) { ++alive; }
  tracked(const tracked& other) : value(other.value) { ++alive; }
  tracked(tracked&& other) noexcept : value(other.value) { ++alive; }
  ~tracked() { --alive; }
};

int read_tracked(const tracked& t) {
  return t.value;
}

tracked make_tracked(int v) {
  return tracked{v};
}

/// Small and trivially copyable: a task's result of this type is kept in
/// its slot (`object_slot::seal_inline`).
struct small_pair {
  int64_t a = 0;
  double b = 0;
};

small_pair make_small_pair(int64_t a) {
  return {a, 0.5 * static_cast<double>(a)};
}

MANTA_REMOTE(sleep_ms, fail_after_ms, identity);
MANTA_LOCAL(read_tracked, make_tracked); // `tracked` counts its copies: it stays on its node
MANTA_LOCAL(make_small_pair);

/// Polls until no `tracked` is alive or `limit` passes.
int settle_alive(std::chrono::milliseconds limit) {
  auto deadline = steady::now() + limit;
  while (tracked::alive.load() > 0 && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return tracked::alive.load();
}

/// Submits one sleep_ms task per duration, in order.
std::vector<manta::object_ref<int>> sleepers(const std::vector<int>& durations) {
  std::vector<manta::object_ref<int>> refs;
  for (auto ms : durations)
    refs.push_back(manta::task(sleep_ms).remote(ms));
  return refs;
}

/// Apart enough that a loaded machine, starting threads for 10 tasks at
/// once, does not finish two of them out of order (the timeout case).
constexpr int step_ms = 40;

/// Ten tasks that each wait for the test to open their gate: the order in
/// which they finish is the test's, whatever the load, so the cases on
/// completion order assert it exactly instead of inferring it from sleeps.
struct gates {
  static constexpr int count = 10;
  static inline std::atomic<bool> open[count];

  static void close_all() {
    for (auto& g : open)
      g.store(false);
  }

  static void release(int i) {
    open[i].store(true);
    open[i].notify_all();
  }
};

/// Waits for gate `i`, then returns `i`.
int gated(int i) {
  gates::open[i].wait(false);
  return i;
}

MANTA_REMOTE(gated);

/// Submits gated(0) .. gated(9), all gates closed.
std::vector<manta::object_ref<int>> gated_tasks() {
  gates::close_all();
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < gates::count; ++i)
    refs.push_back(manta::task(gated).remote(i));
  return refs;
}

/// Opens the gates from the last to the first on a thread of its own, each
/// only once the task before has finished (its ref read), so the tasks
/// finish in the order 9, 8, .., 0 while the test thread waits.
std::thread release_last_first(std::vector<manta::object_ref<int>> refs) {
  return std::thread{[refs = std::move(refs)] {
    for (int i = gates::count - 1; i >= 0; --i) {
      gates::release(i);
      manta::get(refs[i]);
    }
  }};
}

/// 10 tasks, the i-th sleeping step_ms * (10 - i) ms: the last finishes first.
std::vector<int> staggered_durations() {
  std::vector<int> out;
  for (int i = 0; i < 10; ++i)
    out.push_back(step_ms * (10 - i));
  return out;
}

} // namespace

TEST_CASE("put and get of plain values") {
  runtime_guard rt{1};
  CHECK(manta::get(manta::put(42)) == 42);
  CHECK(manta::get(manta::put(2.5)) == 2.5);
  CHECK(manta::get(manta::put(std::string{"hello"})) == "hello");
  CHECK(manta::get(manta::put(std::vector<int>{1, 2, 3})) == std::vector<int>{1, 2, 3});
  CHECK(manta::get(manta::put(std::vector<std::string>{"a", "bb"}))
        == std::vector<std::string>{"a", "bb"});
  point p{1, 2, "origin", {{"w", 0.5}}};
  auto ref = manta::put(p);
  CHECK(manta::get(ref) == p);
  // The store holds a copy: changing the original does not change it.
  p.x = 100;
  CHECK(manta::get(ref).x == 1);
  // A put value is ready at once and has its own id.
  CHECK(ref.ready());
  auto other = manta::put(p);
  CHECK(other.id() != ref.id());
  // Put values can be passed to tasks.
  CHECK(manta::get(manta::task(identity).remote(manta::put(9))) == 9);
}

TEST_CASE("put(std::move(vec)) keeps the buffer: no copy") {
  runtime_guard rt{1};
  std::vector<double> big(1 << 20, 1.5);
  const double* buffer = big.data();
  auto ref = manta::put(std::move(big));
  auto shared = manta::get_shared(ref);
  REQUIRE(shared);
  CHECK(shared->data() == buffer);
  CHECK(shared->size() == (1u << 20));
  SUBCASE("put of a shared_ptr stores that very object") {
    auto mine = std::make_shared<const std::vector<int>>(1000, 7);
    auto r = manta::put(mine);
    CHECK(manta::get_shared(r).get() == mine.get());
  }
}

TEST_CASE("put of a large lvalue copies it once, exactly (the huge-page path)") {
  runtime_guard rt{1};
  std::vector<uint32_t> source((48u << 20) / sizeof(uint32_t));
  for (size_t i = 0; i < source.size(); ++i)
    source[i] = static_cast<uint32_t>(i * 2654435761u);
  auto before = source;
  auto ref = manta::put(source);
  auto stored = manta::get_shared(ref);
  CHECK(stored->data() != source.data()); // a copy, not the caller's buffer
  CHECK(*stored == before);
  CHECK(source == before); // the caller's value is untouched
  source[0] = 1;           // and stays the caller's
  CHECK((*stored)[0] == before[0]);
  // A small one takes the plain path and is copied just the same.
  std::vector<uint8_t> small{1, 2, 3};
  CHECK(manta::get(manta::put(small)) == small);
}

TEST_CASE("get_shared returns the same object every time") {
  runtime_guard rt{1};
  auto ref = manta::put(std::string(1000, 'x'));
  auto a = manta::get_shared(ref);
  auto b = manta::get_shared(ref);
  auto c = manta::get_shared(ref, 1s);
  auto copy = ref;
  auto d = manta::get_shared(copy);
  CHECK(a.get() == b.get());
  CHECK(a.get() == c.get());
  CHECK(a.get() == d.get());
  CHECK(a->data() == b->data());
  // For task results too.
  auto t = manta::task(identity).remote(5);
  CHECK(manta::get_shared(t).get() == manta::get_shared(t).get());
  CHECK(*manta::get_shared(t) == 5);
}

TEST_CASE("a value outlives the refs it was read through") {
  std::shared_ptr<const std::string> kept;
  {
    runtime_guard rt{1};
    auto ref = manta::put(std::string{"still here"});
    kept = manta::get_shared(ref);
  }
  CHECK(*kept == "still here");
}

TEST_CASE("a small result kept in its slot is read whole, and its shared copy outlives the slot") {
  runtime_guard rt{1};
  std::shared_ptr<const small_pair> kept;
  {
    auto ref = manta::task(make_small_pair).remote(int64_t{7});
    auto v = manta::get(ref);
    CHECK(v.a == 7);
    CHECK(v.b == 3.5);
    kept = manta::get_shared(ref);
    CHECK(manta::get_shared(ref).get() == kept.get()); // one shared copy
  }
  // The slot is gone; new slots (likely in its memory) hold other values.
  for (int64_t i = 1; i <= 8; ++i)
    CHECK(manta::get(manta::task(make_small_pair).remote(100 + i)).a == 100 + i);
  CHECK(kept->a == 7);
  CHECK(kept->b == 3.5);
}

TEST_CASE("a value is freed when its last ref goes away") {
  runtime_guard rt{2};
  tracked::alive = 0;
  {
    auto ref = manta::put(tracked{1});
    CHECK(tracked::alive.load() == 1); // the store's copy only
    auto copy = ref;
    CHECK(manta::get(manta::task(read_tracked).remote(copy)) == 1);
    CHECK(tracked::alive.load() == 1);
  }
  CHECK(settle_alive(1s) == 0);
  {
    auto made = manta::task(make_tracked).remote(2);
    CHECK(manta::get(manta::task(read_tracked).remote(made)) == 2);
    CHECK(manta::get_shared(made)->value == 2);
  }
  CHECK(settle_alive(1s) == 0);
}

TEST_CASE("get of an empty ref is an invalid_argument_error") {
  runtime_guard rt{1};
  manta::object_ref<int> empty;
  CHECK_FALSE(empty);
  CHECK_FALSE(empty.ready());
  CHECK_THROWS_AS(manta::get(empty), manta::invalid_argument_error);
}

TEST_CASE("get of many refs returns values in ref order") {
  runtime_guard rt{4};
  auto refs = sleepers({60, 10, 40, 20});
  CHECK(manta::get(refs) == std::vector<int>{60, 10, 40, 20});
  SUBCASE("with a timeout that is long enough") {
    auto more = sleepers({30, 10});
    CHECK(manta::get(more, 5s) == std::vector<int>{30, 10});
  }
  SUBCASE("with a timeout that is too short") {
    auto more = sleepers({10, 500});
    auto t0 = steady::now();
    CHECK_THROWS_AS(manta::get(more, 100ms), manta::get_timeout_error);
    auto took = seconds_since(t0);
    CHECK(took >= 0.095);
    CHECK(took < 0.4);
  }
  SUBCASE("an error in any ref is thrown") {
    std::vector<manta::object_ref<int>> mixed{manta::task(sleep_ms).remote(5),
                                              manta::task(fail_after_ms).remote(5)};
    CHECK_THROWS_AS(manta::get(mixed), manta::task_error);
  }
  SUBCASE("an empty list") {
    CHECK(manta::get(std::vector<manta::object_ref<int>>{}).empty());
  }
}

TEST_CASE("wait(refs, 1) returns the first task to finish") {
  runtime_guard rt{10};
  auto refs = gated_tasks();
  gates::release(9); // the only one that can finish
  auto [ready, pending] = manta::wait(refs, 1);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0] == refs[9]);
  CHECK(pending.size() == 9);
  // pending keeps the original order and leaves out the ready one.
  for (size_t i = 0; i < pending.size(); ++i)
    CHECK(pending[i] == refs[i]);
  CHECK(manta::get(ready[0]) == 9);
  // The others were not waited for: their gates are still closed.
  auto rest = manta::wait(pending, pending.size(), 0ms);
  CHECK(rest.ready.empty());
  for (int i = 0; i < 9; ++i)
    gates::release(i);
  CHECK(manta::get(pending).size() == 9);
}

TEST_CASE("wait for all returns the refs in completion order") {
  runtime_guard rt{10};
  auto refs = gated_tasks();
  auto releaser = release_last_first(refs);
  auto [ready, pending] = manta::wait(refs, refs.size());
  releaser.join();
  CHECK(pending.empty());
  REQUIRE(ready.size() == refs.size());
  std::vector<int> order;
  for (auto& r : ready)
    order.push_back(manta::get(r));
  CHECK(order == std::vector<int>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
}

TEST_CASE("waiting one at a time on a moved list visits every ref once, in completion order") {
  runtime_guard rt{10};
  auto pending = gated_tasks();
  auto releaser = release_last_first(pending);
  std::vector<int> order;
  while (!pending.empty()) {
    auto before = pending.size();
    auto r = manta::wait(std::move(pending), 1);
    REQUIRE(r.ready.size() == 1);
    CHECK(r.pending.size() == before - 1);
    order.push_back(manta::get(r.ready.front()));
    pending = std::move(r.pending);
  }
  releaser.join();
  CHECK(order == std::vector<int>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  // The lvalue form copies: the list it was given keeps its refs.
  std::vector<manta::object_ref<int>> refs{manta::put(1), manta::put(2)};
  auto copied = manta::wait(refs, 1);
  CHECK(refs[0].id() == copied.ready.front().id());
  CHECK(static_cast<bool>(refs[1]));
}

TEST_CASE("wait with a timeout returns what is ready by then") {
  runtime_guard rt{10};
  auto submitted = steady::now();
  auto refs = sleepers(staggered_durations()); // 40 ms .. 400 ms
  auto t0 = steady::now();
  auto [ready, pending] = manta::wait(refs, refs.size(), 100ms);
  auto took = seconds_since(t0);
  auto since_submit_ms = seconds_since(submitted) * 1000;
  CAPTURE(took);
  CAPTURE(since_submit_ms);
  CHECK(took >= 0.095);
  CHECK(took < 0.2);
  CHECK(ready.size() < refs.size());
  CHECK(ready.size() + pending.size() == refs.size());
  CHECK(ready.size() >= 1); // the 40 ms task is done long before 100 ms
  // What is ready is what had finished when wait returned: no task that
  // sleeps longer than the time since it was submitted (wait returns a
  // little after 100 ms; under ThreadSanitizer on a loaded machine, 156 ms).
  for (auto& r : ready)
    CHECK(manta::get(r) <= since_submit_ms);
  SUBCASE("a zero timeout does not block") {
    auto fresh = sleepers({200, 200});
    auto t1 = steady::now();
    auto res = manta::wait(fresh, 1, 0ms);
    CHECK(res.ready.empty());
    CHECK(res.pending.size() == 2);
    CHECK(seconds_since(t1) < 0.05);
  }
}

TEST_CASE("wait with more num_returns than refs is an invalid_argument_error") {
  runtime_guard rt{1};
  std::vector<manta::object_ref<int>> refs{manta::put(1), manta::put(2)};
  CHECK_THROWS_AS(manta::wait(refs, 3), manta::invalid_argument_error);
  CHECK_THROWS_AS(manta::wait(refs, 3, 1s), manta::invalid_argument_error);
  std::vector<manta::object_ref<int>> with_empty{manta::put(1), {}};
  CHECK_THROWS_AS(manta::wait(with_empty, 1), manta::invalid_argument_error);
}

TEST_CASE("errored refs count as ready in wait") {
  runtime_guard rt{2};
  std::vector<manta::object_ref<int>> refs{manta::task(sleep_ms).remote(1000),
                                           manta::task(fail_after_ms).remote(10)};
  auto t0 = steady::now();
  auto [ready, pending] = manta::wait(refs, 1, 5s);
  CHECK(seconds_since(t0) < 0.5);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0] == refs[1]);
  CHECK(ready[0].ready());
  CHECK_THROWS_AS(manta::get(ready[0]), manta::task_error);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0] == refs[0]);
  manta::cancel(refs[0]); // no need to wait out the slow one
}
