// Placement groups on one node: bundles reserved all or nothing, tasks and
// actors run on a bundle's reserved resources, infeasible groups fail at
// once, removal frees the resources and fails what ran inside, lookup by
// name and the state API.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::atomic<int> g_running{0};
std::atomic<int> g_max_running{0};
std::atomic<bool> g_release{false};
std::atomic<int> g_holding{0};

/// Holds its resources until released (or cancelled), counting how many
/// run at once.
int hold() {
  auto now = ++g_running;
  auto seen = g_max_running.load();
  while (now > seen && !g_max_running.compare_exchange_weak(seen, now)) {
  }
  ++g_holding;
  auto deadline = steady::now() + 20s;
  while (!g_release.load() && !manta::cancelled() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  --g_holding;
  --g_running;
  return 1;
}

int answer() {
  return 42;
}

/// Sleeps 30 ms, counting how many run at once.
int nap() {
  auto now = ++g_running;
  auto seen = g_max_running.load();
  while (now > seen && !g_max_running.compare_exchange_weak(seen, now)) {
  }
  std::this_thread::sleep_for(30ms);
  --g_running;
  return 1;
}

MANTA_REMOTE(hold, answer, nap);

class counter {
public:
  int incr() { return ++n_; }

private:
  int n_ = 0;
};
MANTA_ACTOR(counter, &counter::incr);

void reset() {
  g_running = 0;
  g_max_running = 0;
  g_release = false;
  g_holding = 0;
}

/// Waits up to 10 s for `pred`; false if it never held.
bool eventually(const std::function<bool()>& pred) {
  auto deadline = steady::now() + 10s;
  while (steady::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

double free_of(const std::string& name) {
  auto free = manta::available_resources();
  auto i = free.find(name);
  return i == free.end() ? -1 : i->second;
}

manta::placement_group_info info_of(const manta::placement_group& pg) {
  for (auto& g : manta::list_placement_groups())
    if (g.id == pg.id())
      return g;
  FAIL("group " << pg.id() << " is not listed");
  return {};
}

} // namespace

TEST_CASE("a group reserves its bundles and gives them back when removed") {
  runtime_guard rt{4};
  auto pg = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 2}}},
                                          manta::placement_strategy::pack);
  CHECK(manta::get(pg.ready(), 10s));
  CHECK(pg.wait(1s));
  CHECK(free_of("CPU") == doctest::Approx(1));
  CHECK(free_of("CPU_group_0_" + pg.id()) == doctest::Approx(1));
  CHECK(free_of("CPU_group_1_" + pg.id()) == doctest::Approx(2));
  CHECK(free_of("CPU_group_" + pg.id()) == doctest::Approx(3));
  auto g = info_of(pg);
  CHECK(g.state == "CREATED");
  CHECK(g.strategy == "PACK");
  REQUIRE(g.bundles.size() == 2);
  CHECK(g.bundles[1].resources.at("CPU") == doctest::Approx(2));
  CHECK(g.bundles[0].node == manta::get_runtime_context().get_node_name());
  manta::remove_placement_group(pg);
  CHECK(free_of("CPU") == doctest::Approx(4));
  CHECK(free_of("CPU_group_0_" + pg.id()) == -1);
  CHECK(info_of(pg).state == "REMOVED");
  manta::remove_placement_group(pg); // twice: nothing happens
  // Removed groups leave nothing behind in the node's resources.
  auto before = manta::available_resources().size();
  for (int i = 0; i < 100; ++i) {
    auto g = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}});
    REQUIRE(manta::get(g.ready(), 10s));
    manta::remove_placement_group(g);
  }
  CHECK(manta::available_resources().size() == before);
  CHECK(free_of("CPU") == doctest::Approx(4));
}

TEST_CASE("tasks in a bundle use its reserved resources, not the node's") {
  runtime_guard rt{3};
  reset();
  auto pg = manta::create_placement_group({{{"CPU", 1}}});
  REQUIRE(pg.wait(10s));
  // The node's two other CPUs are taken by tasks outside the group.
  auto a = manta::task(hold).remote();
  auto b = manta::task(hold).remote();
  REQUIRE(eventually([] { return g_holding.load() == 2; }));
  // Still runs: its CPU was reserved in the bundle.
  CHECK(manta::get(manta::task(answer).placement_group(pg, 0).remote(), 10s) == 42);
  g_release = true;
  manta::get(a, 10s);
  manta::get(b, 10s);
  // Four tasks into a bundle of one CPU run one at a time, on a node with
  // two CPUs free besides.
  reset();
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 4; ++i)
    refs.push_back(manta::task(nap).placement_group(pg, 0).remote());
  (void)manta::get(refs, 10s);
  CHECK(g_max_running.load() == 1);
  // The same tasks outside the group overlap (the check above can fail).
  reset();
  refs.clear();
  for (int i = 0; i < 4; ++i)
    refs.push_back(manta::task(nap).remote());
  (void)manta::get(refs, 10s);
  CHECK(g_max_running.load() == 2);
  manta::remove_placement_group(pg);
}

TEST_CASE("a group is reserved all or nothing and waits for the resources") {
  runtime_guard rt{2};
  reset();
  auto holder = manta::task(hold).remote();
  REQUIRE(eventually([] { return g_holding.load() == 1; }));
  auto pg = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}},
                                          manta::placement_strategy::spread, "both");
  CHECK_THROWS_AS(manta::get(pg.ready(), 200ms), manta::get_timeout_error);
  CHECK_FALSE(pg.wait(50ms));
  auto [ready, pending] = manta::wait(std::vector{pg.ready()}, 1, 50ms);
  CHECK(ready.empty());
  CHECK(info_of(pg).state == "PENDING");
  CHECK(free_of("CPU") == doctest::Approx(1)); // nothing of it taken yet
  // A task into the pending group waits with it.
  auto inside = manta::task(answer).placement_group(pg, 1).remote();
  CHECK_THROWS_AS(manta::get(inside, 100ms), manta::get_timeout_error);
  g_release = true;
  CHECK(manta::get(pg.ready(), 10s));
  CHECK(manta::get(inside, 10s) == 42);
  CHECK(info_of(pg).state == "CREATED");
  CHECK(info_of(pg).bundles[0].node == manta::get_runtime_context().get_node_name());
  manta::get(holder, 10s);
  CHECK(free_of("CPU") == doctest::Approx(0));
  manta::remove_placement_group(pg);
  CHECK(free_of("CPU") == doctest::Approx(2));
}

TEST_CASE("a group that can never fit fails at once with a named error") {
  runtime_guard rt{2, {{"disk", 1}}};
  using manta::placement_strategy;
  // One node cannot give two bundles a node each.
  CHECK_THROWS_AS(
    manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}}, placement_strategy::strict_spread),
    manta::placement_group_infeasible_error);
  CHECK_THROWS_AS(manta::create_placement_group({{{"CPU", 3}}}),
                  manta::placement_group_infeasible_error);
  CHECK_THROWS_AS(
    manta::create_placement_group({{{"CPU", 2}}, {{"CPU", 1}}}, placement_strategy::strict_pack),
    manta::placement_group_infeasible_error);
  CHECK_THROWS_AS(manta::create_placement_group({{{"GPU", 1}}}),
                  manta::placement_group_infeasible_error);
  try {
    manta::create_placement_group({{{"disk", 2}}}, placement_strategy::pack, "big");
    FAIL("an infeasible group was created");
  } catch (const manta::placement_group_infeasible_error& e) {
    CHECK(std::string{e.what()}.find("big") != std::string::npos);
    CHECK(std::string{e.what()}.find("disk") != std::string::npos);
  }
  // Bad input is an invalid argument.
  CHECK_THROWS_AS(manta::create_placement_group({}), manta::invalid_argument_error);
  CHECK_THROWS_AS(manta::create_placement_group({{{"CPU", 0}}}), manta::invalid_argument_error);
  CHECK_THROWS_AS(manta::create_placement_group({{{"CPU", -1}}}), manta::invalid_argument_error);
  // Nothing was reserved by the refused groups; one bundle STRICT_SPREAD fits.
  CHECK(free_of("CPU") == doctest::Approx(2));
  auto one = manta::create_placement_group({{{"CPU", 1}, {"disk", 1}}},
                                           placement_strategy::strict_spread);
  CHECK(one.wait(10s));
  // A task asking for more than its bundle, or a bundle that does not exist.
  CHECK_THROWS_AS(manta::task(answer).num_cpus(2).placement_group(one, 0).remote(),
                  manta::infeasible_task_error);
  CHECK_THROWS_AS(manta::task(answer).resources({{"GPU", 1}}).placement_group(one).remote(),
                  manta::infeasible_task_error);
  CHECK_THROWS_AS(manta::task(answer).placement_group(one, 1).remote(),
                  manta::invalid_argument_error);
  CHECK(manta::get(manta::task(answer).resources({{"disk", 1}}).placement_group(one).remote(), 10s)
        == 42);
}

TEST_CASE("removing a group fails the tasks running and waiting in it") {
  runtime_guard rt{4};
  reset();
  auto pg = manta::create_placement_group({{{"CPU", 1}}});
  REQUIRE(pg.wait(10s));
  auto running = manta::task(hold).placement_group(pg, 0).remote();
  REQUIRE(eventually([] { return g_holding.load() == 1; }));
  auto queued = manta::task(answer).placement_group(pg, 0).remote();
  CHECK_THROWS_AS(manta::get(queued, 50ms), manta::get_timeout_error);
  manta::remove_placement_group(pg);
  CHECK_THROWS_AS(manta::get(running, 5s), manta::placement_group_removed_error);
  CHECK_THROWS_AS(manta::get(queued, 5s), manta::placement_group_removed_error);
  // The running task saw manta::cancelled() and returned.
  CHECK(eventually([] { return g_holding.load() == 0; }));
  CHECK(eventually([] { return free_of("CPU") == 4; }));
  CHECK_THROWS_AS(manta::task(answer).placement_group(pg).remote(),
                  manta::placement_group_removed_error);
}

TEST_CASE("removing a pending group fails its ready() and reserves nothing") {
  runtime_guard rt{1};
  reset();
  auto holder = manta::task(hold).remote();
  REQUIRE(eventually([] { return g_holding.load() == 1; }));
  auto pg = manta::create_placement_group({{{"CPU", 1}}});
  auto ready = pg.ready();
  manta::remove_placement_group(pg);
  CHECK_THROWS_AS(manta::get(ready, 5s), manta::placement_group_removed_error);
  CHECK_FALSE(pg.wait(10ms));
  g_release = true;
  manta::get(holder, 10s);
  CHECK(eventually([] { return free_of("CPU") == 1; }));
  CHECK(manta::get(manta::task(answer).remote(), 10s) == 42);
}

TEST_CASE("actors hold a bundle's resources and die when the group is removed") {
  runtime_guard rt{2};
  auto pg = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}},
                                          manta::placement_strategy::strict_pack);
  REQUIRE(pg.wait(10s));
  auto c = manta::actor<counter>().num_cpus(1).placement_group(pg, 1).remote();
  CHECK(manta::get(c.call(&counter::incr).remote(), 10s) == 1);
  CHECK(free_of("CPU_group_1_" + pg.id()) == doctest::Approx(0));
  CHECK(free_of("CPU_group_0_" + pg.id()) == doctest::Approx(1));
  CHECK(info_of(pg).actors == 1);
  // A second actor does not fit in bundle 1 any more: it waits.
  auto d = manta::actor<counter>().num_cpus(1).placement_group(pg, 1).remote();
  auto waiting = d.call(&counter::incr).remote();
  CHECK_THROWS_AS(manta::get(waiting, 100ms), manta::get_timeout_error);
  manta::remove_placement_group(pg);
  for (auto* ref : {&waiting}) {
    try {
      manta::get(*ref, 5s);
      FAIL("a call to an actor of a removed group succeeded");
    } catch (const manta::actor_died_error& e) {
      CHECK(std::string{e.what()}.find("placement group") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(manta::get(c.call(&counter::incr).remote(), 5s), manta::actor_died_error);
  CHECK(eventually([] { return free_of("CPU") == 2; }));
}

TEST_CASE("groups are found by name and listed") {
  runtime_guard rt{2};
  auto pg = manta::create_placement_group({{{"CPU", 1}}}, manta::placement_strategy::spread,
                                          "train");
  CHECK(manta::get_placement_group("train").id() == pg.id());
  CHECK(manta::get_placement_group("train").name() == "train");
  CHECK(manta::get_placement_group("train").strategy() == manta::placement_strategy::spread);
  CHECK_THROWS_AS(
    manta::create_placement_group({{{"CPU", 1}}}, manta::placement_strategy::pack, "train"),
    manta::invalid_argument_error);
  CHECK_THROWS_AS(manta::get_placement_group("nope"), manta::placement_group_not_found_error);
  CHECK_THROWS_AS(manta::get_placement_group(" "), manta::invalid_argument_error);
  REQUIRE(pg.wait(10s));
  auto listed = manta::list_placement_groups(manta::list_filter::parse({"name=train"}));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].state == "CREATED");
  CHECK(listed[0].strategy == "SPREAD");
  manta::remove_placement_group(pg);
  CHECK_THROWS_AS(manta::get_placement_group("train"), manta::placement_group_not_found_error);
  CHECK(manta::list_placement_groups(manta::list_filter::parse({"state=CREATED"})).empty());
  // The name is free again.
  auto again = manta::create_placement_group({{{"CPU", 1}}}, manta::placement_strategy::pack,
                                             "train");
  CHECK(again.wait(10s));
}
