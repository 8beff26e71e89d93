// Starting and stopping the embedded runtime: init/shutdown, options from the
// command line, resources, use outside init, prompt shutdown, no leaked threads.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/held_task.hpp"
#include "tests/runtime_guard.hpp"
#include "tests/running_total_actor.hpp"
#include "tests/thread_count.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Polls until the thread count drops to `baseline` or `limit` passes.
size_t settle_thread_count(size_t baseline, std::chrono::milliseconds limit) {
  auto deadline = steady::now() + limit;
  auto n = thread_count();
  while (n > baseline && steady::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    n = thread_count();
  }
  return n;
}


/// argv from a list of strings (kept alive by the caller).
std::vector<char*> make_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args)
    out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

int add(int a, int b) {
  return a + b;
}

void sleep_1s() {
  std::this_thread::sleep_for(1s);
}

manta::object_ref<int> g_never_ready;
std::atomic<bool> g_get_woken{false};
std::atomic<bool> g_get_woken_by_cancel{false};

/// Blocks in a get on `g_never_ready`.
int get_never_ready() {
  try {
    return manta::get(g_never_ready);
  } catch (const manta::task_cancelled_error&) {
    g_get_woken_by_cancel = true;
    g_get_woken = true;
    throw;
  } catch (...) {
    g_get_woken = true;
    throw;
  }
}

MANTA_REMOTE(add, sleep_1s, hold_until_released, get_never_ready);


/// Checks that `call` throws not_initialized_error, naming init (`what`
/// names the call and when it was made, for a call that did not throw).
template <class Call>
void check_not_initialized(Call call, const char* what) {
  try {
    call();
    FAIL(what << " did not throw");
  } catch (const manta::not_initialized_error& e) {
    CHECK(std::string{e.what()}.find("init") != std::string::npos);
  }
}

} // namespace

// Declared first: doctest runs the cases of a file in declaration order, so
// this one sees a process that never called init.
TEST_CASE("using the runtime before init throws not_initialized_error") {
  REQUIRE_FALSE(manta::is_initialized());
  check_not_initialized([] { (void)manta::task(add).remote(1, 2); }, "task().remote() before init");
  check_not_initialized([] { (void)manta::put(42); }, "put before init");
  CHECK_THROWS_AS(manta::available_resources(), manta::not_initialized_error);
  CHECK_THROWS_AS(manta::cluster_resources(), manta::not_initialized_error);
  // shutdown without init is harmless.
  CHECK_NOTHROW(manta::shutdown());
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("init and shutdown toggle is_initialized") {
  CHECK_FALSE(manta::is_initialized());
  manta::init();
  CHECK(manta::is_initialized());
  manta::shutdown();
  CHECK_FALSE(manta::is_initialized());
  // A second shutdown is a no-op.
  CHECK_NOTHROW(manta::shutdown());
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("init while running throws manta::error and keeps the runtime") {
  runtime_guard rt{runtime_guard::with_cpus(2)};
  CHECK_THROWS_AS(manta::init(), manta::error);
  CHECK_THROWS_AS(manta::init(runtime_guard::with_cpus(5)), manta::error);
  REQUIRE(manta::is_initialized());
  // The first runtime is untouched and still works.
  CHECK(manta::cluster_resources().at("CPU") == doctest::Approx(2));
  CHECK(manta::get(manta::task(add).remote(2, 3)) == 5);
}

TEST_CASE("init works again after shutdown") {
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    runtime_guard rt{runtime_guard::with_cpus(1 + round)};
    REQUIRE(manta::is_initialized());
    CHECK(manta::cluster_resources().at("CPU") == doctest::Approx(1 + round));
    auto a = manta::task(add).remote(round, 10);
    auto b = manta::task(add).remote(a, manta::put(100));
    CHECK(manta::get(b) == round + 110);
  }
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("a second init starts from fresh parts: no actors, dead ones or groups of the first") {
  {
    runtime_guard rt{runtime_guard::with_cpus(2)};
    auto t = manta::actor<running_total>().name("first_tally").remote(1);
    CHECK(manta::get(t.call(&running_total::add).remote(2)) == 3);
    auto pg = manta::create_placement_group({{{"CPU", 1}}}, manta::placement_strategy::pack,
                                            "first_group");
    CHECK(manta::list_placement_groups().size() == 1);
    manta::kill(t);
    // The directory keeps the dead actor's last moments while this runtime lives.
    auto deadline = steady::now() + 10s;
    auto dead = [] {
      for (auto& a : manta::list_actors())
        if (a.name == "first_tally" && a.state == "DEAD")
          return true;
      return false;
    };
    while (!dead() && steady::now() < deadline)
      std::this_thread::sleep_for(1ms);
    REQUIRE(dead());
  }
  CHECK(manta::list_placement_groups().empty()); // no runtime: nothing to list
  runtime_guard rt{runtime_guard::with_cpus(2)};
  CHECK(manta::list_actors().empty());
  CHECK_THROWS_AS(manta::get_actor<running_total>("first_tally"), manta::actor_not_found_error);
  CHECK(manta::list_placement_groups().empty());
  CHECK_THROWS_AS(manta::get_placement_group("first_group"),
                  manta::placement_group_not_found_error);
  // The new runtime's parts work as the first's did.
  auto t = manta::actor<running_total>().name("first_tally").remote(10);
  CHECK(manta::get(t.call(&running_total::add).remote(5)) == 15);
}

TEST_CASE("num_cpus and custom resources show up in the resource views") {
  runtime_guard rt{runtime_guard::with_cpus(3, {{"GPU", 2}, {"disk", 1.5}})};
  auto total = manta::cluster_resources();
  CHECK(total.size() == 3);
  CHECK(total.at("CPU") == doctest::Approx(3));
  CHECK(total.at("GPU") == doctest::Approx(2));
  CHECK(total.at("disk") == doctest::Approx(1.5));
  auto free = manta::available_resources();
  CHECK(free == total);

  SUBCASE("a running task holds its resources and gives them back") {
    g_release = false;
    auto ref = manta::task(hold_until_released).num_cpus(2).resources({{"GPU", 1}}).remote();
    wait_for_holding(1);
    auto busy = manta::available_resources();
    CHECK(busy.at("CPU") == doctest::Approx(1));
    CHECK(busy.at("GPU") == doctest::Approx(1));
    CHECK(busy.at("disk") == doctest::Approx(1.5));
    CHECK(manta::cluster_resources() == total); // totals never change
    g_release = true;
    CHECK(manta::get(ref, 5s) == 1);
    // The lease is returned right after the result is sealed; allow the
    // executor thread a moment to get there.
    auto deadline = steady::now() + 2s;
    while (manta::available_resources() != total && steady::now() < deadline)
      std::this_thread::sleep_for(1ms);
    CHECK(manta::available_resources() == total);
  }
}

TEST_CASE("num_cpus defaults to the hardware's core count") {
  runtime_guard rt{manta::init_options{}};
  auto hw = std::thread::hardware_concurrency();
  REQUIRE(hw > 0);
  auto total = manta::cluster_resources();
  CHECK(total.at("CPU") == doctest::Approx(hw));
  CHECK(total.size() == 1); // no custom resources unless asked for
}

TEST_CASE("init(argc, argv) reads --num-cpus and --resources") {
  SUBCASE("flag=value form") {
    std::vector<std::string> args{"prog", "--num-cpus=3", "--resources=GPU:2,disk:1"};
    auto argv = make_argv(args);
    runtime_guard rt{static_cast<int>(args.size()), argv.data()};
    auto total = manta::cluster_resources();
    CHECK(total.at("CPU") == doctest::Approx(3));
    CHECK(total.at("GPU") == doctest::Approx(2));
    CHECK(total.at("disk") == doctest::Approx(1));
    CHECK(total.size() == 3);
  }
  SUBCASE("flag value form, with the program's own arguments in between") {
    std::vector<std::string> args{"prog",      "input.txt",   "--num-cpus", "5",
                                  "--verbose", "--resources", "TPU:4"};
    auto argv = make_argv(args);
    runtime_guard rt{static_cast<int>(args.size()), argv.data()};
    auto total = manta::cluster_resources();
    CHECK(total.at("CPU") == doctest::Approx(5));
    CHECK(total.at("TPU") == doctest::Approx(4));
    CHECK(total.size() == 2);
  }
  SUBCASE("MANTA_NUM_CPUS is the fallback, the flag wins") {
    REQUIRE(::setenv("MANTA_NUM_CPUS", "7", 1) == 0);
    {
      std::vector<std::string> args{"prog"};
      auto argv = make_argv(args);
      runtime_guard rt{1, argv.data()};
      CHECK(manta::cluster_resources().at("CPU") == doctest::Approx(7));
    }
    {
      std::vector<std::string> args{"prog", "--num-cpus=2"};
      auto argv = make_argv(args);
      runtime_guard rt{2, argv.data()};
      CHECK(manta::cluster_resources().at("CPU") == doctest::Approx(2));
    }
    ::unsetenv("MANTA_NUM_CPUS");
  }
}

TEST_CASE("init(argc, argv) rejects bad values with invalid_argument_error") {
  const std::vector<std::vector<std::string>> bad{
    {"prog", "--num-cpus=abc"},       {"prog", "--num-cpus=-1"},
    {"prog", "--num-cpus=3x"},        {"prog", "--num-cpus="},
    {"prog", "--num-cpus"}, // no value follows
    {"prog", "--resources=GPU"},      {"prog", "--resources=GPU:"},
    {"prog", "--resources=GPU:many"}, {"prog", "--resources=:1"},
    {"prog", "--resources=GPU:-2"},   {"prog", "--resources=GPU:1,disk"},
    {"prog", "--resources=CPU:4"}, // CPUs are given with --num-cpus
  };
  for (auto args : bad) {
    CAPTURE(args.back());
    auto argv = make_argv(args);
    CHECK_THROWS_AS(manta::init(static_cast<int>(args.size()), argv.data()),
                    manta::invalid_argument_error);
    CHECK_FALSE(manta::is_initialized());
    manta::shutdown(); // in case a bad value was accepted
  }
  SUBCASE("a bad MANTA_NUM_CPUS is rejected too") {
    REQUIRE(::setenv("MANTA_NUM_CPUS", "lots", 1) == 0);
    std::vector<std::string> args{"prog"};
    auto argv = make_argv(args);
    CHECK_THROWS_AS(manta::init(1, argv.data()), manta::invalid_argument_error);
    ::unsetenv("MANTA_NUM_CPUS");
    CHECK_FALSE(manta::is_initialized());
    manta::shutdown();
  }
  SUBCASE("the message names the flag and the value") {
    std::vector<std::string> args{"prog", "--num-cpus=abc"};
    auto argv = make_argv(args);
    try {
      manta::init(2, argv.data());
      manta::shutdown();
      FAIL("--num-cpus=abc was accepted");
    } catch (const manta::invalid_argument_error& e) {
      std::string what = e.what();
      CHECK(what.find("--num-cpus") != std::string::npos);
      CHECK(what.find("abc") != std::string::npos);
    }
  }
}

// init.hpp: "Unknown `--manta-*` flags are errors; other arguments are left
// for the program."
TEST_CASE("init(argc, argv) rejects unknown --manta-* flags") {
  std::vector<std::string> args{"prog", "--manta-bogus=1"};
  auto argv = make_argv(args);
  CHECK_THROWS_AS(manta::init(2, argv.data()), manta::invalid_argument_error);
  CHECK_FALSE(manta::is_initialized());
  manta::shutdown();
}

// strtod accepts "nan" and "inf"; NaN CPUs would make every fits_in test
// pass and remove the concurrency limit.
TEST_CASE("non-finite CPU counts are rejected") {
  for (std::string value : {"nan", "inf", "-nan"}) {
    CAPTURE(value);
    std::vector<std::string> args{"prog", "--num-cpus=" + value};
    auto argv = make_argv(args);
    CHECK_THROWS_AS(manta::init(2, argv.data()), manta::invalid_argument_error);
    CHECK_FALSE(manta::is_initialized());
    manta::shutdown();
  }
  CHECK_THROWS_AS(manta::init(runtime_guard::with_cpus(std::numeric_limits<double>::quiet_NaN())),
                  manta::invalid_argument_error);
  CHECK_FALSE(manta::is_initialized());
  manta::shutdown();
  CHECK_THROWS_AS(
    manta::init(runtime_guard::with_cpus(1, {{"GPU", std::numeric_limits<double>::infinity()}})),
    manta::invalid_argument_error);
  CHECK_FALSE(manta::is_initialized());
  manta::shutdown();
}

TEST_CASE("init_options with negative amounts are rejected") {
  CHECK_THROWS_AS(manta::init(runtime_guard::with_cpus(-1)), manta::invalid_argument_error);
  CHECK_FALSE(manta::is_initialized());
  CHECK_THROWS_AS(manta::init(runtime_guard::with_cpus(1, {{"GPU", -1}})),
                  manta::invalid_argument_error);
  CHECK_FALSE(manta::is_initialized());
  manta::shutdown();
}

TEST_CASE("using the runtime after shutdown throws not_initialized_error") {
  manta::object_ref<int> stale;
  {
    runtime_guard rt{runtime_guard::with_cpus(1)};
    stale = manta::put(7);
    REQUIRE(manta::get(stale) == 7);
  }
  check_not_initialized([] { (void)manta::task(add).remote(1, 2); },
                        "task().remote() after shutdown");
  check_not_initialized([] { (void)manta::put(1); }, "put after shutdown");
  check_not_initialized([&] { (void)manta::get(stale); }, "get after shutdown");
  CHECK_THROWS_AS(manta::wait(std::vector<manta::object_ref<int>>{stale}, 1),
                  manta::not_initialized_error);
  CHECK_THROWS_AS(manta::available_resources(), manta::not_initialized_error);
}

// Before the prompt-shutdown case below, which leaves threads behind on purpose.
TEST_CASE("shutdown leaves no threads behind when nothing is running") {
  auto baseline = thread_count();
  REQUIRE(baseline >= 1);
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    {
      runtime_guard rt{runtime_guard::with_cpus(2)};
      CHECK(thread_count() > baseline); // the runtime does start threads
      std::vector<manta::object_ref<int>> refs;
      for (int i = 0; i < 50; ++i)
        refs.push_back(manta::task(add).remote(i, i));
      auto values = manta::get(refs);
      for (int i = 0; i < 50; ++i)
        CHECK(values[i] == 2 * i);
    }
    // At most the baseline: a thread an earlier case left ending (and
    // counted in the baseline) may be gone by now.
    CHECK(settle_thread_count(baseline, 1s) <= baseline);
  }
}

TEST_CASE("shutdown returns promptly with queued, running and blocked tasks") {
  auto baseline = thread_count();
  g_release = false;
  g_get_woken = false;
  g_get_woken_by_cancel = false;
  manta::init(runtime_guard::with_cpus(2));
  // One task that does not finish on its own, one blocked in a get on it,
  // and 100 one-second tasks queued behind them.
  g_never_ready = manta::task(hold_until_released).remote();
  wait_for_holding(1);
  auto blocked = manta::task(get_never_ready).remote();
  std::vector<manta::object_ref<void>> queued;
  for (int i = 0; i < 100; ++i)
    queued.push_back(manta::task(sleep_1s).remote());
  std::this_thread::sleep_for(50ms); // let the blocked task reach its get
  CHECK_FALSE(blocked.ready());
  auto t0 = steady::now();
  manta::shutdown();
  auto took = seconds_since(t0);
  CHECK(took < 1.5);
  CHECK_FALSE(manta::is_initialized());
  // The task blocked in get was woken by shutdown, with a cancellation.
  auto deadline = steady::now() + 2s;
  while (!g_get_woken.load() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  CHECK(g_get_woken.load());
  CHECK(g_get_woken_by_cancel.load());
  // Everything still pending was failed, not left hanging.
  CHECK(blocked.ready());
  CHECK(g_never_ready.ready());
  for (auto& r : queued)
    CHECK(r.ready());
  // Let the tasks left behind finish: their threads go away on their own.
  g_release = true;
  g_never_ready = {};
  CHECK(settle_thread_count(baseline, 3s) == baseline);
  // And the runtime starts again afterwards.
  runtime_guard rt{runtime_guard::with_cpus(1)};
  CHECK(manta::get(manta::task(add).remote(20, 22)) == 42);
}
