// A task or actor call lets go of its arguments before its result is sealed
// (task_spec::release_args): whoever the seal wakes finds an argument's
// object held by its other refs only, even while the task itself is still
// held (here by the test, as a pool thread holds it until after the seal).
// So the tutorial's next put (an 800 MB array read by 10 tasks, put again)
// finds the previous array's buffer back in the pool. A run that fails and
// runs again keeps them; the listings still name them.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/actor/typed_call.hpp>
#include <manta/manta.hpp>
#include <manta/sched/task_spec.hpp>
#include <manta/core/runtime.hpp>
#include <manta/store/object_store.hpp>
#include <manta/store/store_copy.hpp>

#include "tests/runtime_guard.hpp"
#include "tests/store_budget.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr size_t mib = size_t{1} << 20;

/// Opened by the test once it holds the tasks it submitted: until then
/// they wait (a task that ended before the test took it would prove
/// nothing).
std::atomic<bool> g_open{false};

void wait_until_open() {
  auto until = steady::now() + 60s;
  while (!g_open.load() && steady::now() < until)
    std::this_thread::yield();
}

uint64_t count_from(const std::vector<uint8_t>& xs, int k) {
  wait_until_open();
  return static_cast<uint64_t>(
    std::count_if(xs.begin(), xs.end(), [k](uint8_t x) { return x > static_cast<uint8_t>(k); }));
}

size_t use_count_of(std::shared_ptr<int> token) {
  wait_until_open();
  return token ? 1 : 0;
}

std::atomic<int> g_failures_left{0};

uint64_t fail_once(const std::vector<uint8_t>& xs) {
  wait_until_open();
  if (g_failures_left.fetch_sub(1) > 0)
    throw std::runtime_error("once");
  return xs.size();
}

struct reader {
  uint64_t read(const std::vector<uint8_t>& xs) {
    wait_until_open();
    return xs.size();
  }
};

MANTA_REMOTE(count_from, fail_once);
MANTA_LOCAL(use_count_of); // a shared_ptr stays on its node
MANTA_ACTOR(reader, &reader::read);

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> xs(n);
  for (size_t i = 0; i < n; ++i)
    xs[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 12));
  return xs;
}

/// The task that makes `ref`'s object, held as a pool thread holds it.
template <class T>
std::shared_ptr<manta::detail::task_spec> task_of(const manta::object_ref<T>& ref) {
  auto t = ref.slot()->producer();
  REQUIRE(t);
  return t;
}

} // namespace

TEST_CASE("a finished task no longer holds its arguments when its result is got") {
  runtime_guard rt{2};
  g_open = false;
  auto arg = manta::put(pattern(4 * mib, 1));
  auto arg_id = arg.id();
  auto arg_bytes = arg.slot()->size_bytes();
  std::weak_ptr<const std::vector<uint8_t>> value = manta::get_shared(arg);
  auto token = std::make_shared<int>(7);
  std::weak_ptr<int> token_seen = token;

  auto counted = manta::task(count_from).remote(arg, 0);
  auto by_value = manta::task(use_count_of).remote(std::move(token));
  auto counter = task_of(counted);
  auto holder = task_of(by_value);
  arg = {}; // the tasks' refs are the object's last
  g_open = true;

  CHECK(manta::get(counted) > 0);
  CHECK(manta::get(by_value) == 1);
  // The tasks are still held (by the test), their arguments are not.
  CHECK(value.expired());
  CHECK(token_seen.expired());
  CHECK(counter->args_released());
  CHECK(holder->args_released());

  // The listing still names the argument and its size.
  auto tasks = manta::list_tasks();
  auto it = std::find_if(tasks.begin(), tasks.end(),
                         [&](const manta::task_info& t) { return t.id == counted.id(); });
  REQUIRE(it != tasks.end());
  REQUIRE(it->args.size() == 1);
  CHECK(it->args[0].id == arg_id);
  CHECK(it->args[0].size_bytes == arg_bytes);
}

TEST_CASE("a task that runs again keeps its arguments for the next run") {
  runtime_guard rt{2};
  g_open = false;
  g_failures_left = 1;
  auto arg = manta::put(pattern(1 * mib, 2));
  std::weak_ptr<const std::vector<uint8_t>> value = manta::get_shared(arg);
  auto result = manta::task(fail_once).max_retries(1).retry_exceptions(true).remote(arg);
  auto held = task_of(result);
  arg = {};
  g_open = true;
  CHECK(manta::get(result) == 1 * mib);
  CHECK(held->attempts.load() == 2);
  CHECK(value.expired());
}

TEST_CASE("a finished actor call no longer holds its arguments when its result is got") {
  runtime_guard rt{2};
  g_open = false;
  auto h = manta::actor<reader>().remote();
  auto arg = manta::put(pattern(4 * mib, 3));
  std::weak_ptr<const std::vector<uint8_t>> value = manta::get_shared(arg);
  // The call as `h.call(&reader::read).remote(arg)` makes it, held here as
  // the actor's drainer holds it until after the seal.
  using call_type = manta::detail::typed_call<reader, uint64_t, decltype(&reader::read),
                                              manta::detail::ref_arg<std::vector<uint8_t>>>;
  static const std::string method = "read";
  auto call = std::make_shared<call_type>(method, &reader::read, arg);
  manta::object_ref<uint64_t> result{manta::detail::submit_call(h.anchor()->core, call, nullptr)};
  arg = {};
  g_open = true;
  CHECK(manta::get(result) == 4 * mib);
  CHECK(value.expired());
  CHECK(call->deps.empty());
}

TEST_CASE("the tutorial's next put reuses the buffer its reader tasks let go of") {
  runtime_guard rt{budget_of(512 * mib)}; // one CPU, no spilling
  auto& pool = manta::detail::runtime::here().store().pool();
  g_open = false;
  auto first = pattern(64 * mib, 4);
  auto second = pattern(64 * mib, 5);
  auto ref = manta::put(first); // an lvalue: copied, as ray.put copies
  const auto* first_data = manta::get_shared(ref)->data();
  std::vector<manta::object_ref<uint64_t>> counts;
  std::vector<std::shared_ptr<manta::detail::task_spec>> readers;
  for (int k = 0; k < 3; ++k) {
    counts.push_back(manta::task(count_from).remote(ref, k));
    readers.push_back(task_of(counts.back()));
  }
  ref = {};
  g_open = true;
  CHECK(manta::get(counts).back() > 0);

  // The readers are held (as pool threads late to drop them would be): the
  // array went back to the pool all the same, and the next put copies into
  // it instead of fresh memory.
  auto fresh = manta::detail::fresh_copies();
  auto reuses = pool.reuses();
  auto next = manta::put(second);
  CHECK(manta::detail::fresh_copies() == fresh);
  CHECK(pool.reuses() == reuses + 1);
  auto stored = manta::get_shared(next);
  CHECK(stored->data() == first_data);
  CHECK(*stored == second);
}
