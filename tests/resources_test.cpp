// Resources bound how many tasks run at once: CPUs, fractional CPUs, custom
// resources; infeasible demands fail at once; num_cpus(0) tasks always run.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/concurrency_peak.hpp"
#include "tests/held_task.hpp"
#include "tests/runtime_guard.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {


/// Tasks running right now and the most ever seen at once.
manta_test::concurrency_peak g_tasks;

void reset_concurrency() {
  g_tasks.reset();
}

int sleep_ms(int ms) {
  return g_tasks.hold_for(ms);
}

int answer() {
  return 42;
}

MANTA_REMOTE(sleep_ms, hold_until_released, answer);

/// Runs `n` tasks of `ms` each with `submit` and returns the elapsed seconds.
template <class Submit>
double run_batch(int n, Submit submit) {
  reset_concurrency();
  auto t0 = steady::now();
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < n; ++i)
    refs.push_back(submit());
  for (auto& r : refs)
    REQUIRE(manta::get(r, 30s) > 0);
  return seconds_since(t0);
}


} // namespace

TEST_CASE("num_cpus bounds how many tasks run at once") {
  runtime_guard rt{4};
  auto took = run_batch(8, [] { return manta::task(sleep_ms).remote(500); });
  CAPTURE(took);
  constexpr double ideal = 1.0;      // two waves of four
  constexpr double sequential = 4.0; // eight in a row
  CHECK(took >= 0.9 * ideal);        // never more than four at once
  CHECK(took < 2 * ideal);
  CHECK(sequential / took >= 1.5);
  CHECK(g_tasks.most.load() == 4);
}

namespace {

/// Runs `n` tasks of 300 ms asking for `cpus` CPUs each on a node of
/// `node_cpus`: `most` run at once, so they take two waves' time.
void check_two_waves(double node_cpus, int n, double cpus, int most) {
  runtime_guard rt{node_cpus};
  auto took = run_batch(n, [cpus] { return manta::task(sleep_ms).num_cpus(cpus).remote(300); });
  CAPTURE(took);
  CHECK(g_tasks.most.load() == most);
  CHECK(took >= 0.55);
  CHECK(took < 1.2);
}

} // namespace

TEST_CASE("tasks asking for two CPUs halve the concurrency") {
  check_two_waves(4, 4, 2, 2);
}

TEST_CASE("fractional CPUs let more tasks share a CPU") {
  check_two_waves(2, 8, 0.5, 4);
}

TEST_CASE("a custom resource with one unit serializes its tasks") {
  runtime_guard rt{4, {{"GPU", 1}}};
  auto took = run_batch(4, [] {
    return manta::task(sleep_ms).resources({{"GPU", 1}}).remote(100);
  });
  CAPTURE(took);
  CHECK(g_tasks.most.load() == 1);
  CHECK(took >= 0.38);
  SUBCASE("tasks without the resource are not held back by it") {
    auto took2 = run_batch(4, [] { return manta::task(sleep_ms).remote(200); });
    CAPTURE(took2);
    CHECK(g_tasks.most.load() == 4);
  }
  SUBCASE("resources({{\"CPU\", n}}) sets the CPU demand") {
    auto took3 = run_batch(4, [] {
      return manta::task(sleep_ms).resources({{"CPU", 2}}).remote(200);
    });
    CAPTURE(took3);
    CHECK(g_tasks.most.load() == 2);
  }
}

TEST_CASE("a task that can never fit fails at once with infeasible_task_error") {
  runtime_guard rt{4, {{"GPU", 1}}};
  // `names`: what the message must mention (the task, the resource, the amount).
  auto check_infeasible = [](manta::object_ref<int> ref, std::vector<std::string> names) {
    auto t0 = steady::now();
    try {
      (void)manta::get(ref, 5s);
      FAIL("an infeasible task ran");
    } catch (const manta::infeasible_task_error& e) {
      std::string what = e.what();
      CAPTURE(what);
      for (auto& name : names) {
        CAPTURE(name);
        CHECK(what.find(name) != std::string::npos);
      }
    }
    CHECK(seconds_since(t0) < 0.1);
  };
  SUBCASE("too many CPUs") {
    check_infeasible(manta::task(answer).num_cpus(8).remote(), {"answer", "CPU", "8"});
  }
  SUBCASE("too much of a custom resource, named task") {
    check_infeasible(manta::task(answer).resources({{"GPU", 3}}).name("trainer").remote(),
                     {"trainer", "GPU", "3"});
  }
  SUBCASE("a resource the cluster does not have at all") {
    check_infeasible(manta::task(answer).resources({{"TPU", 1}}).remote(), {"answer", "TPU"});
  }
  // Feasible tasks still run afterwards.
  CHECK(manta::get(manta::task(answer).resources({{"GPU", 1}}).remote(), 5s) == 42);
}

TEST_CASE("num_cpus(0) tasks run while every CPU is busy") {
  runtime_guard rt{2};
  g_release = false;
  auto a = manta::task(hold_until_released).remote();
  auto b = manta::task(hold_until_released).remote();
  wait_for_holding(2);
  REQUIRE(manta::available_resources().at("CPU") == doctest::Approx(0));
  // A normal task has to wait...
  auto normal = manta::task(answer).remote();
  // ...but one asking for no CPU runs now.
  auto free_ride = manta::task(answer).num_cpus(0).remote();
  CHECK(manta::get(free_ride, 2s) == 42);
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(normal.ready());
  g_release = true;
  CHECK(manta::get(normal, 5s) == 42);
  CHECK(manta::get(a, 5s) == 1);
  CHECK(manta::get(b, 5s) == 1);
}

TEST_CASE("negative num_cpus is rejected") {
  runtime_guard rt{2};
  CHECK_THROWS_AS(manta::task(answer).num_cpus(-1).remote(), manta::invalid_argument_error);
}
