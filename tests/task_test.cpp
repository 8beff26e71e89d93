// Tasks: calls, void results, strings and vectors, dataflow between tasks,
// parallel branches, zero-copy ref arguments, many small tasks.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


int add(int a, int b) {
  return a + b;
}

int square(int x) {
  return x * x;
}

std::atomic<int> g_void_calls{0};
std::atomic<int> g_void_sum{0};

void record(int x) {
  g_void_calls++;
  g_void_sum += x;
}

std::string greet(std::string greeting, const std::string& name) {
  return greeting + ", " + name + "!";
}

std::vector<int> iota_vec(int n) {
  std::vector<int> out(n);
  std::iota(out.begin(), out.end(), 0);
  return out;
}

long sum_vec(const std::vector<int>& xs) {
  return std::accumulate(xs.begin(), xs.end(), 0L);
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto space = text.find(' ', pos);
    if (space == std::string::npos)
      space = text.size();
    if (space > pos)
      out.push_back(text.substr(pos, space - pos));
    pos = space + 1;
  }
  return out;
}

size_t count_words(const std::vector<std::string>& words) {
  return words.size();
}

// The Ray tutorial's dataflow example.
int step_one(int x) {
  return x + 1;
}

int step_two(int x) {
  return x * 2;
}

int step_three(int a, int b) {
  return a + b;
}

int slow_step(int x) {
  std::this_thread::sleep_for(300ms);
  return x + 1;
}

/// A value that counts its copies.
struct counted {
  static inline std::atomic<int> copies{0};
  std::vector<int> data;

  explicit counted(std::vector<int> d) : data(std::move(d)) {}
  counted(const counted& other) : data(other.data) { ++copies; }
  counted(counted&&) noexcept = default;
  counted& operator=(const counted& other) {
    data = other.data;
    ++copies;
    return *this;
  }
  counted& operator=(counted&&) noexcept = default;
};

std::atomic<const counted*> g_seen_address{nullptr};
std::atomic<int> g_copies_inside{-1};

long inspect(const counted& c) {
  g_seen_address = &c;
  g_copies_inside = counted::copies.load();
  return std::accumulate(c.data.begin(), c.data.end(), 0L);
}

int not_registered(int x) {
  return x;
}

MANTA_REMOTE(add, square, record, greet, iota_vec, sum_vec, split_words, count_words);
MANTA_REMOTE(step_one, step_two, step_three, slow_step);
MANTA_LOCAL(inspect); // `counted` counts its copies: it stays on its node

} // namespace

TEST_CASE("a task returns its result") {
  runtime_guard rt{2};
  auto ref = manta::task(add).remote(1, 2);
  CHECK(ref);
  CHECK(manta::get(ref) == 3);
  // get may be called again and from a copy of the ref.
  auto copy = ref;
  CHECK(copy == ref);
  CHECK(manta::get(copy) == 3);
  CHECK(ref.ready());
  // Arguments convert to the parameter type as in a direct call.
  CHECK(manta::get(manta::task(add).remote(short{4}, 'a')) == 4 + 'a');
}

TEST_CASE("each submission gets its own ref and id") {
  runtime_guard rt{2};
  auto a = manta::task(add).remote(1, 1);
  auto b = manta::task(add).remote(1, 1);
  CHECK_FALSE(a == b);
  CHECK(a.id() != b.id());
  CHECK(manta::get(a) == manta::get(b));
}

TEST_CASE("a function without MANTA_REMOTE cannot be a task") {
  runtime_guard rt{1};
  try {
    (void)manta::task(not_registered);
    FAIL("task() accepted an unregistered function");
  } catch (const manta::unknown_function_error& e) {
    CHECK(std::string{e.what()}.find("MANTA_REMOTE") != std::string::npos);
  }
}

TEST_CASE("functions of one signature alternated on one thread each run as themselves") {
  // Each thread remembers the function it looked up last (by address): a
  // lookup of another one, or of one never registered, must not hit it.
  runtime_guard rt{2};
  for (int i = 0; i < 50; ++i) {
    CHECK(manta::get(manta::task(square).remote(i)) == i * i);
    CHECK(manta::get(manta::task(step_one).remote(i)) == step_one(i));
    CHECK(manta::get(manta::task(square).remote(i)) == i * i);
    CHECK_THROWS_AS((void)manta::task(not_registered), manta::unknown_function_error);
  }
  // From a second thread too, whose cache starts empty.
  int from_thread = 0;
  std::thread t{[&] { from_thread = manta::get(manta::task(step_one).remote(7)); }};
  t.join();
  CHECK(from_thread == step_one(7));
  CHECK(manta::get(manta::task(square).remote(7)) == 49);
}

TEST_CASE("void tasks run and their ref becomes ready") {
  runtime_guard rt{2};
  g_void_calls = 0;
  g_void_sum = 0;
  std::vector<manta::object_ref<void>> refs;
  for (int i = 1; i <= 10; ++i)
    refs.push_back(manta::task(record).remote(i));
  for (auto& r : refs)
    manta::get(r);
  CHECK(g_void_calls.load() == 10);
  CHECK(g_void_sum.load() == 55);
  for (auto& r : refs)
    CHECK(r.ready());
  // A void task can take a ref argument like any other.
  manta::get(manta::task(record).remote(manta::task(square).remote(10)));
  CHECK(g_void_sum.load() == 155);
}

TEST_CASE("strings and vectors as arguments and results") {
  runtime_guard rt{2};
  CHECK(manta::get(manta::task(greet).remote("Hello", std::string{"Manta"})) == "Hello, Manta!");
  auto name = manta::put(std::string{"ref"});
  CHECK(manta::get(manta::task(greet).remote(std::string{"Hi"}, name)) == "Hi, ref!");

  auto vec = manta::task(iota_vec).remote(1000);
  auto values = manta::get(vec);
  REQUIRE(values.size() == 1000);
  CHECK(values.front() == 0);
  CHECK(values.back() == 999);
  CHECK(manta::get(manta::task(sum_vec).remote(vec)) == 999L * 1000 / 2);
  CHECK(manta::get(manta::task(sum_vec).remote(std::vector<int>{1, 2, 3})) == 6);

  auto words = manta::task(split_words).remote("the quick  brown fox");
  CHECK(manta::get(words) == std::vector<std::string>{"the", "quick", "brown", "fox"});
  CHECK(manta::get(manta::task(count_words).remote(words)) == 4);
}

TEST_CASE("dataflow: refs passed to tasks are resolved first") {
  runtime_guard rt{2};
  // step_three(step_two(step_one(10)), step_one(20)) = 22 + 21
  auto a = manta::task(step_one).remote(10);
  auto b = manta::task(step_two).remote(a);
  auto c = manta::task(step_one).remote(20);
  auto d = manta::task(step_three).remote(b, c);
  CHECK(manta::get(d) == 43);
  CHECK(manta::get(a) == 11);
  CHECK(manta::get(b) == 22);
  CHECK(manta::get(c) == 21);

  // A longer chain: the value flows through 100 tasks.
  auto x = manta::task(step_one).remote(0);
  for (int i = 1; i < 100; ++i)
    x = manta::task(step_one).remote(x);
  CHECK(manta::get(x) == 100);

  // Mixed value and ref arguments, and a put value as an argument.
  auto p = manta::put(5);
  CHECK(manta::get(manta::task(step_three).remote(p, 7)) == 12);
  CHECK(manta::get(manta::task(step_three).remote(p, p)) == 10);
}

TEST_CASE("independent branches run in parallel") {
  auto run_graph = [] {
    auto t0 = steady::now();
    auto a = manta::task(slow_step).remote(1);
    auto b = manta::task(slow_step).remote(2);
    auto c = manta::task(step_three).remote(a, b);
    REQUIRE(manta::get(c, 10s) == 5);
    return seconds_since(t0);
  };
  double sequential = 0;
  {
    runtime_guard rt{1};
    sequential = run_graph();
  }
  double parallel = 0;
  {
    runtime_guard rt{2};
    parallel = run_graph();
  }
  CAPTURE(sequential);
  CAPTURE(parallel);
  CHECK(sequential >= 0.59); // one CPU: the two 0.3 s branches cannot overlap
  CHECK(parallel >= 0.29);
  CHECK(parallel < 0.5);
  CHECK(parallel / sequential < 0.8);
}

TEST_CASE("a ref argument reaches a const T& parameter without a copy") {
  runtime_guard rt{2};
  std::vector<int> data(100000, 1);
  auto ref = manta::put(counted{std::move(data)});
  auto stored = manta::get_shared(ref);
  counted::copies = 0;
  g_seen_address = nullptr;
  g_copies_inside = -1;
  CHECK(manta::get(manta::task(inspect).remote(ref)) == 100000);
  CHECK(g_copies_inside.load() == 0);
  CHECK(g_seen_address.load() == stored.get());
  // Again from a second task: same object, still no copy.
  g_seen_address = nullptr;
  CHECK(manta::get(manta::task(inspect).remote(ref)) == 100000);
  CHECK(g_seen_address.load() == stored.get());
  CHECK(counted::copies.load() == 0);
}

TEST_CASE("tasks submitted from several threads at once") {
  runtime_guard rt{2};
  constexpr int threads = 4;
  constexpr int per_thread = 1000;
  std::atomic<int> wrong{0};
  std::atomic<int> done{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([t, &wrong, &done] {
      std::vector<manta::object_ref<int>> refs;
      for (int i = 0; i < per_thread; ++i)
        refs.push_back(manta::task(add).remote(t * per_thread, i));
      for (int i = 0; i < per_thread; ++i) {
        if (manta::get(refs[i], 30s) != t * per_thread + i)
          ++wrong;
        ++done;
      }
    });
  }
  for (auto& th : submitters)
    th.join();
  CHECK(done.load() == threads * per_thread);
  CHECK(wrong.load() == 0);
}

TEST_CASE("10,000 small tasks all give the right result") {
  runtime_guard rt{2};
  constexpr int n = 10000;
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(n);
  auto t0 = steady::now();
  for (int i = 0; i < n; ++i)
    refs.push_back(manta::task(square).remote(i % 1000));
  auto values = manta::get(refs);
  auto took = seconds_since(t0);
  MESSAGE("10,000 tasks took " << took << " s");
  REQUIRE(values.size() == n);
  int wrong = 0;
  for (int i = 0; i < n; ++i)
    if (values[i] != (i % 1000) * (i % 1000))
      ++wrong;
  CHECK(wrong == 0);
  CHECK(took < 10.0);
  // Dependent fan-in over many results.
  std::vector<manta::object_ref<int>> sums;
  for (int i = 0; i + 1 < 1000; i += 2)
    sums.push_back(manta::task(add).remote(refs[i], refs[i + 1]));
  long total = 0;
  for (auto v : manta::get(sums))
    total += v;
  long expected = 0;
  for (int i = 0; i < 1000; ++i)
    expected += i * i;
  CHECK(total == expected);
}

TEST_CASE("tasks share the default options; chained options are the task's own copy") {
  runtime_guard rt{2};
  const auto& defaults = manta::detail::default_task_options();
  auto plain = manta::task(square);
  CHECK(&plain.options() == &defaults);
  auto tuned = manta::task(square).num_cpus(0.5).name("tuned");
  CHECK(&tuned.options() != &defaults);
  // Chaining changed the builder's copy, not the shared defaults.
  CHECK(defaults.resources.cpus == 1);
  CHECK(defaults.name.empty());
  using spec_type =
    manta::detail::typed_task<int, int (*)(int), manta::detail::arg_holder_t<int, int>>;
  spec_type shared{square, "square", plain.options(), 3};
  CHECK(&shared.opts == &defaults);
  CHECK_THROWS_AS(shared.own_options(), std::bad_optional_access);
  spec_type own{square, "square", tuned.options(), 3};
  CHECK(&own.opts != &tuned.options());
  CHECK(own.opts.name == "tuned");
  CHECK(own.opts.resources.cpus == 0.5);
  CHECK(own.name() == "tuned");
  // Both kinds run, and the builder's options apply to each of its calls.
  CHECK(manta::get(plain.remote(4)) == 16);
  CHECK(manta::get(tuned.remote(5)) == 25);
  CHECK(manta::get(tuned.remote(6)) == 36);
}
