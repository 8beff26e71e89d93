// Custom resources of virtual nodes and placement groups in a simulation
// (docs/simulation.md, "Custom resources and placement groups"): tasks and
// actors go only where their resources are; groups are laid out over the
// virtual nodes by the cluster's own strategies, ready on virtual time, run
// what is submitted into their bundles on the bundles' nodes, fail it when
// removed, and place a dead node's bundles again; the same seed gives the
// same trace.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/core/init_flags.hpp>
#include <manta/manta.hpp>

#include "sim_guard.hpp"
#include "tests/parsed_flags.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;

using manta_test::exact_latency;
using manta_test::kill_at;
using manta_test::seeded;
using manta_test::sim_guard;
using manta_test::sim_of;

namespace {

int where_now() {
  return static_cast<int>(manta::sim::current_node());
}

/// Sleeps `ms` virtual milliseconds (keeping its resources) and says where.
int nap_where(int ms) {
  manta::sleep(std::chrono::milliseconds{ms});
  return static_cast<int>(manta::sim::current_node());
}
MANTA_REMOTE(where_now, nap_where);

class spot {
public:
  int node() { return static_cast<int>(manta::sim::current_node()); }
};
MANTA_ACTOR(spot, &spot::node);

int node_of(manta::actor_handle<spot>& a) {
  return manta::get(a.call(&spot::node).remote());
}

/// Where each bundle of `pg` is now, by the state API (-1: being placed).
std::vector<int> bundle_nodes(const manta::placement_group& pg) {
  for (auto& info : manta::list_placement_groups()) {
    if (info.id != pg.id())
      continue;
    std::vector<int> out;
    for (auto& b : info.bundles)
      out.push_back(b.node.empty() ? -1 : std::stoi(b.node.substr(b.node.find('-') + 1)));
    return out;
  }
  return {};
}

std::string state_of(const manta::placement_group& pg) {
  for (auto& info : manta::list_placement_groups())
    if (info.id == pg.id())
      return info.state;
  return "?";
}

} // namespace

TEST_CASE("virtual nodes have custom resources: tasks and actors asking for them go only there") {
  auto s = exact_latency(4, 100us, 2);
  s.node_resources = {{1, {{"GPU", 1}}}, {2, {{"disk", 2}}}};
  sim_guard g{s};
  // Three GPU tasks take turns on node 1's one GPU; tasks asking for CPUs
  // only are not held back behind them.
  std::vector<manta::object_ref<int>> gpu;
  for (int i = 0; i < 3; ++i)
    gpu.push_back(manta::task(nap_where).resources({{"GPU", 1}}).remote(10));
  std::vector<manta::object_ref<int>> plain;
  for (int i = 0; i < 4; ++i)
    plain.push_back(manta::task(where_now).remote());
  for (auto& r : plain)
    manta::get(r);
  CHECK(manta::now().time_since_epoch() < 5ms);
  for (auto& r : gpu)
    CHECK(manta::get(r) == 1);
  CHECK(manta::now().time_since_epoch() >= 30ms);
  CHECK(manta::get(manta::task(where_now).resources({{"disk", 2}}).remote()) == 2);
  // What no node has is refused at once, naming what the cluster has.
  try {
    manta::get(manta::task(where_now).resources({{"GPU", 1}, {"disk", 1}}).remote());
    FAIL("a task no virtual node can hold ran");
  } catch (const manta::infeasible_task_error& e) {
    CHECK(std::string{e.what()}.find("GPU") != std::string::npos);
  }
  CHECK_THROWS_AS(manta::get(manta::task(where_now).resources({{"disk", 3}}).remote()),
                  manta::infeasible_task_error);
  // An actor asking for a GPU is placed on the GPU node, not the driver's.
  auto a = manta::actor<spot>().resources({{"GPU", 1}}).remote();
  CHECK(node_of(a) == 1);
  CHECK_THROWS_AS(manta::actor<spot>().resources({{"TPU", 1}}).remote(),
                  manta::infeasible_task_error);
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("an actor holds its CPUs and custom resources on its virtual node for its life") {
  auto s = exact_latency(3, 100us, 2);
  s.node_resources = {{1, {{"GPU", 1}}}};
  sim_guard g{s};
  auto a = manta::actor<spot>().resources({{"GPU", 1}}).remote();
  CHECK(node_of(a) == 1);
  // While it lives node 1's one GPU is its: a GPU task and a second GPU
  // actor wait; work that needs no GPU does not wait behind them.
  auto gpu_task = manta::task(nap_where).resources({{"GPU", 1}}).remote(10);
  auto b = manta::actor<spot>().resources({{"GPU", 1}}).remote();
  auto b_node = b.call(&spot::node).remote();
  CHECK(manta::get(manta::task(where_now).remote()) >= 0);
  CHECK_THROWS_AS(manta::get(gpu_task, 1s), manta::get_timeout_error);
  CHECK_THROWS_AS(manta::get(b_node, 1s), manta::get_timeout_error);
  // Killed, it gives the GPU back: the task that came first takes it, then
  // the second actor, which holds it in turn.
  auto killed_at = manta::now();
  manta::kill(a);
  CHECK(manta::get(gpu_task) == 1);
  CHECK(manta::get(b_node) == 1);
  CHECK(manta::now() - killed_at >= 10ms);
  auto late = manta::task(nap_where).resources({{"GPU", 1}}).remote(1);
  CHECK_THROWS_AS(manta::get(late, 1s), manta::get_timeout_error);
  manta::kill(b);
  CHECK(manta::get(late) == 1);
  // CPUs too: an actor of 2 CPUs on a 2-CPU node leaves it no room for a
  // task pinned there until the actor is gone.
  auto big = manta::actor<spot>().num_cpus(2).node_affinity(2, false).remote();
  CHECK(node_of(big) == 2);
  auto pinned = manta::task(where_now).node_affinity(2, false).remote();
  CHECK_THROWS_AS(manta::get(pinned, 1s), manta::get_timeout_error);
  manta::kill(big);
  CHECK(manta::get(pinned) == 2);
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("an actor in a bundle holds its share of the bundle for its life") {
  sim_guard g{exact_latency(3, 100us, 2)};
  auto pg = manta::create_placement_group({{{"CPU", 1}}}, manta::placement_strategy::pack);
  REQUIRE(manta::get(pg.ready()));
  auto node = bundle_nodes(pg).at(0);
  auto a = manta::actor<spot>().num_cpus(1).placement_group(pg, 0).remote();
  CHECK(node_of(a) == node);
  // The bundle's one CPU is the actor's while it lives: a task in the same
  // bundle and a second such actor wait; the node's other CPU, outside the
  // group, still runs work.
  auto inside = manta::task(nap_where).placement_group(pg, 0).remote(10);
  auto b = manta::actor<spot>().num_cpus(1).placement_group(pg, 0).remote();
  auto b_node = b.call(&spot::node).remote();
  CHECK(manta::get(manta::task(where_now).node_affinity(node, false).remote()) == node);
  CHECK_THROWS_AS(manta::get(inside, 1s), manta::get_timeout_error);
  CHECK_THROWS_AS(manta::get(b_node, 1s), manta::get_timeout_error);
  // Killed, it gives the share back: the task that came first takes it,
  // then the second actor.
  manta::kill(a);
  CHECK(manta::get(inside) == node);
  CHECK(manta::get(b_node) == node);
  // Removing the group kills the second actor and gives the node's CPU
  // back once: a group of every CPU of the cluster fits after.
  manta::remove_placement_group(pg);
  CHECK_THROWS_AS(node_of(b), manta::actor_died_error);
  auto all = manta::create_placement_group(std::vector<manta::resource_map>(3, {{"CPU", 2}}),
                                           manta::placement_strategy::strict_spread);
  CHECK(all.wait(1s));
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("node resources come from the options, the schedule file and --sim-resources") {
  auto path = "/tmp/manta_sim_placement_" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream f{path};
    f << R"({"nodes": 3, "node_resources": {"2": {"GPU": 2}}})";
  }
  {
    manta::simulation_options s;
    s.schedule_file = path;
    sim_guard g{s};
    CHECK(manta::get(manta::task(where_now).resources({{"GPU", 2}}).remote()) == 2);
  }
  {
    std::ofstream f{path};
    f << R"({"nodes": 3, "node_resources": {"2": {"GPU": "many"}}})";
  }
  CHECK_MESSAGE(
    manta_test::schedule_refused(path).find("node_resources.2.GPU") != std::string::npos,
    "a resource amount that is not a number was accepted, or refused for another reason");
  std::remove(path.c_str());
  // Bad options are refused at init, naming the node and the resource.
  manta::simulation_options bad;
  bad.nodes = 2;
  bad.node_resources = {{5, {{"GPU", 1}}}};
  CHECK_THROWS_WITH_AS(manta::init({}, bad), doctest::Contains("names node 5"),
                       manta::invalid_argument_error);
  bad.node_resources = {{1, {{"CPU", 4}}}};
  CHECK_THROWS_WITH_AS(manta::init({}, bad), doctest::Contains("cpus_per_node"),
                       manta::invalid_argument_error);
  manta::init_options one_node;
  one_node.resources = {{"GPU", 1}};
  CHECK_THROWS_WITH_AS(manta::init(one_node, manta::simulation_options{}),
                       doctest::Contains("--sim-resources"), manta::invalid_argument_error);
  CHECK(!manta::is_initialized());
  // The flag: NODE=NAME:N,... for each node, separated by ';'.
  auto flags = sim_of({"--sim-resources=1=GPU:1;2=disk:2,GPU:1"});
  REQUIRE(flags);
  CHECK(
    flags->node_resources
    == std::map<uint32_t, manta::resource_map>{{1, {{"GPU", 1}}}, {2, {{"disk", 2}, {"GPU", 1}}}});
  CHECK_THROWS_WITH_AS(sim_of({"--sim-resources=GPU:1"}), doctest::Contains("--sim-resources"),
                       manta::invalid_argument_error);
}

TEST_CASE("placement groups are laid out over virtual nodes by the cluster's strategies") {
  auto s = exact_latency(4, 100us, 4);
  s.node_resources = {{3, {{"GPU", 1}}}};
  sim_guard g{s};
  auto spread = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                                              manta::placement_strategy::strict_spread);
  CHECK(state_of(spread) == "PENDING");
  auto before = manta::now();
  CHECK(manta::get(spread.ready()));
  // Ready on virtual time: a request to each node and its answer.
  CHECK(manta::now() - before == 200us);
  auto nodes = bundle_nodes(spread);
  REQUIRE(nodes.size() == 3);
  CHECK(nodes[0] != nodes[1]);
  CHECK(nodes[1] != nodes[2]);
  CHECK(nodes[0] != nodes[2]);
  for (int b = 0; b < 3; ++b)
    CHECK(manta::get(manta::task(where_now).placement_group(spread, b).remote()) == nodes[b]);
  // STRICT_PACK: every bundle on the one node that holds their sum.
  auto pack = manta::create_placement_group({{{"CPU", 1}}, {{"GPU", 1}}},
                                            manta::placement_strategy::strict_pack);
  CHECK(pack.wait(1s));
  CHECK(bundle_nodes(pack) == std::vector<int>{3, 3});
  CHECK(
    manta::get(
      manta::task(where_now).placement_group(pack, 1).num_cpus(0).resources({{"GPU", 1}}).remote())
    == 3);
  // Infeasible groups fail at once with the cluster's error.
  CHECK_THROWS_AS(manta::create_placement_group(std::vector<manta::resource_map>(5, {{"CPU", 1}}),
                                                manta::placement_strategy::strict_spread),
                  manta::placement_group_infeasible_error);
  CHECK_THROWS_AS(manta::create_placement_group({{{"GPU", 1}}, {{"GPU", 1}}},
                                                manta::placement_strategy::strict_spread),
                  manta::placement_group_infeasible_error);
  CHECK_THROWS_AS(manta::create_placement_group({{{"CPU", 5}}}, manta::placement_strategy::pack),
                  manta::placement_group_infeasible_error);
  // A task submitted before its group is ready waits for it, then runs on
  // its bundle's node; so does an actor.
  auto later = manta::create_placement_group({{{"CPU", 2}}, {{"CPU", 2}}},
                                             manta::placement_strategy::spread);
  auto early = manta::task(where_now).placement_group(later, 1).remote();
  auto a = manta::actor<spot>().placement_group(later, 0).remote();
  auto ran = manta::get(early);
  CHECK(ran == bundle_nodes(later)[1]);
  CHECK(node_of(a) == bundle_nodes(later)[0]);
  CHECK(bundle_nodes(later)[0] != bundle_nodes(later)[1]);
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("removing a group fails what runs inside with the cluster's error") {
  sim_guard g{exact_latency(4, 100us, 2)};
  auto pg = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}},
                                          manta::placement_strategy::strict_spread);
  REQUIRE(manta::get(pg.ready()));
  auto running = manta::task(nap_where).placement_group(pg, 1).remote(1000);
  auto a = manta::actor<spot>().placement_group(pg, 0).remote();
  CHECK(node_of(a) == bundle_nodes(pg)[0]);
  manta::sleep(10ms);
  manta::remove_placement_group(pg);
  CHECK_THROWS_AS(manta::get(running), manta::placement_group_removed_error);
  CHECK(manta::now().time_since_epoch() < 500ms); // at the removal, not at the task's end
  CHECK_THROWS_AS(node_of(a), manta::actor_died_error);
  CHECK_THROWS_AS(manta::task(where_now).placement_group(pg, 0).remote(),
                  manta::placement_group_removed_error);
  CHECK(state_of(pg) == "REMOVED");
  // A group removed before it is ready: its ready() fails, and what its
  // try took comes back (a group of every CPU of the cluster fits after).
  auto gone = manta::create_placement_group({{{"CPU", 2}}}, manta::placement_strategy::pack);
  manta::remove_placement_group(gone);
  CHECK_THROWS_AS(manta::get(gone.ready()), manta::placement_group_removed_error);
  auto all = manta::create_placement_group(std::vector<manta::resource_map>(4, {{"CPU", 2}}),
                                           manta::placement_strategy::strict_spread);
  CHECK(all.wait(1s));
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("a group with no room now waits for resources to be freed, and a wait for one that "
          "cannot be placed is a deadlock, not a hang") {
  sim_guard g{exact_latency(2, 100us, 2)};
  std::vector<manta::object_ref<int>> busy;
  for (int i = 0; i < 4; ++i) // every CPU of the cluster for 50 ms
    busy.push_back(manta::task(nap_where).remote(50));
  manta::sleep(1ms);
  auto pg = manta::create_placement_group({{{"CPU", 2}}}, manta::placement_strategy::strict_pack);
  CHECK(!pg.wait(20ms));
  CHECK(state_of(pg) == "PENDING");
  CHECK(manta::get(pg.ready()));
  // Tried again within the cluster client's 100 ms of the runs' end.
  CHECK(manta::now().time_since_epoch() >= 51ms);
  CHECK(manta::now().time_since_epoch() <= 152ms);
  for (auto& r : busy)
    manta::get(r);
  auto rest = manta::create_placement_group({{{"CPU", 2}}}, manta::placement_strategy::pack);
  REQUIRE(manta::get(rest.ready())); // the other node: now every CPU is reserved
  auto never = manta::create_placement_group({{{"CPU", 1}}}, manta::placement_strategy::pack);
  CHECK(!never.wait(1s));
  CHECK_THROWS_WITH_AS(manta::get(never.ready()), doctest::Contains("deadlock"), manta::error);
  manta::remove_placement_group(rest);
  CHECK(manta::get(never.ready())); // the removal gave rest's CPUs back
}

TEST_CASE("a group whose nodes are cut off from the driver's waits for the heal") {
  auto s = exact_latency(4, 100us, 2);
  s.faults = {manta_test::partition_at(0ns, {1, 2}), manta_test::heal_at(300ms)};
  sim_guard g{s};
  manta::sleep(1ms);
  // Three nodes of their own, of which the driver reaches two until 300 ms.
  auto pg = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                                          manta::placement_strategy::strict_spread);
  CHECK(!pg.wait(250ms));
  CHECK(manta::get(pg.ready()));
  CHECK(manta::now().time_since_epoch() >= 300ms);
  CHECK(manta::now().time_since_epoch() <= 401ms);
  auto nodes = bundle_nodes(pg);
  CHECK(std::set<int>(nodes.begin(), nodes.end()).size() == 3);
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("a killed node's bundles are placed again; the work in them runs again there") {
  auto s = exact_latency(4, 100us, 2);
  sim_guard g{s};
  auto pg = manta::create_placement_group({{{"CPU", 2}}, {{"CPU", 2}}},
                                          manta::placement_strategy::strict_spread);
  REQUIRE(manta::get(pg.ready()));
  auto nodes = bundle_nodes(pg);
  REQUIRE(nodes.size() == 2);
  int k = nodes[0] == 0 ? 1 : 0; // the bundle on a worker (node 0 cannot be killed)
  int other = nodes[1 - k];
  REQUIRE(nodes[k] > 0);
  auto retried = manta::task(nap_where).placement_group(pg, k).max_retries(2).remote(100);
  auto lost = manta::task(nap_where).placement_group(pg, k).max_retries(0).remote(100);
  auto a = manta::actor<spot>().placement_group(pg, k).max_restarts(1).remote();
  CHECK(node_of(a) == nodes[k]);
  manta::sim::schedule(
    kill_at(manta::now().time_since_epoch() + 20ms, static_cast<uint32_t>(nodes[k])));
  CHECK_THROWS_AS(manta::get(lost), manta::object_lost_error);
  int again = manta::get(retried);
  CHECK(again != nodes[k]);
  CHECK(again != other); // STRICT_SPREAD: still a node of its own
  auto now = bundle_nodes(pg);
  CHECK(now[1 - k] == other);
  CHECK(now[k] == again);
  CHECK(state_of(pg) == "CREATED");
  CHECK(node_of(a) == again); // restarted in its bundle, on the bundle's new node
  CHECK(manta::sim::summary().actors_killed == 1);
  CHECK(manta::sim::summary().external_events == 0);
}

TEST_CASE("the same seed gives the same trace with placement groups, another seed another") {
  auto run = [](uint64_t seed) {
    auto s = seeded(seed, 6);
    s.random_kills = 2;
    s.kill_window = 300ms;
    s.node_resources = {{2, {{"GPU", 1}}}, {4, {{"GPU", 1}}}};
    sim_guard g{s};
    auto spread = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                                                manta::placement_strategy::strict_spread);
    auto gpus = manta::create_placement_group({{{"GPU", 1}}, {{"GPU", 1}}},
                                              manta::placement_strategy::spread);
    std::vector<manta::object_ref<int>> refs;
    for (int i = 0; i < 30; ++i)
      refs.push_back(manta::task(nap_where)
                       .placement_group(spread, i % 3)
                       .max_retries(20)
                       .max_node_failures(-1)
                       .remote(20));
    for (int i = 0; i < 6; ++i)
      refs.push_back(manta::task(nap_where)
                       .placement_group(gpus, i % 2)
                       .num_cpus(0)
                       .resources({{"GPU", 1}})
                       .max_retries(20)
                       .max_node_failures(-1)
                       .remote(30));
    std::vector<int> out;
    for (auto& r : refs)
      out.push_back(manta::get(r));
    auto sum = manta::sim::summary();
    CHECK(sum.external_events == 0);
    CHECK(sum.tasks_lost > 0); // the kills hit bundles (both seeds here)
    return std::make_pair(out, sum.trace_hash);
  };
  manta_test::check_same_seed_same_run(run, 11, 12);
}
