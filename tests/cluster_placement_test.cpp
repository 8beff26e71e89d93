// Placement groups across nodes (issue 21, item 1): real worker processes
// (this binary is the head, the workers and the driver, see
// cluster_main.hpp). The driver has no CPUs of its own, so bundles can only
// sit on the workers: STRICT_SPREAD lands two bundles on two workers, three
// can never fit, a group that could fit later waits, removal frees every
// worker's bundle and fails what runs inside, and the bundles of a worker
// that dies are placed again on a node that joins (RESCHEDULING meanwhile).

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tools/http_client.hpp"

#include <manta/manta.hpp>

#include <boost/json/src.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// The node (runtime context) and process that run it.
std::pair<int, int> node_and_pid() {
  return {static_cast<int>(manta::get_runtime_context().get_node_id()),
          static_cast<int>(::getpid())};
}
MANTA_REMOTE(node_and_pid);

/// Says in `path` that it started, then loops until cancelled (at most 20 s).
int hold_bundle(std::string path) {
  std::ofstream{path, std::ios::app} << "started\n";
  auto deadline = steady::now() + 20s;
  while (!manta::cancelled() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return manta::cancelled() ? 1 : 0;
}
MANTA_REMOTE(hold_bundle);

/// Writes "started <pid>" to `path`, then waits (at most 60 s) until
/// `go` exists; returns its process id, or -1 if `go` never came.
int hold_until(std::string path, std::string go) {
  std::ofstream{path, std::ios::app} << "started " << ::getpid() << "\n";
  for (auto deadline = steady::now() + 60s; steady::now() < deadline;) {
    if (std::filesystem::exists(go))
      return static_cast<int>(::getpid());
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}
MANTA_REMOTE(hold_until);

class where_am_i {
public:
  int node() { return static_cast<int>(manta::get_runtime_context().get_node_id()); }
};
MANTA_ACTOR(where_am_i, &where_am_i::node);

/// A fresh folder for one case's files.
std::string scratch(const std::string& name) {
  return manta_test::scratch_dir("cluster_placement", name);
}

std::optional<manta::placement_group_info> info_of(const manta::placement_group& pg) {
  for (auto& g : manta::list_placement_groups())
    if (g.id == pg.id())
      return g;
  return std::nullopt;
}

/// Waits (up to `limit`) until the group's state is `state`.
bool wait_for_state(const manta::placement_group& pg, const std::string& state,
                    std::chrono::milliseconds limit) {
  for (auto until = steady::now() + limit; steady::now() < until;) {
    if (auto g = info_of(pg); g && g->state == state)
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

const std::vector<manta::resource_map> two_cpus = {{{"CPU", 1}}, {{"CPU", 1}}};

} // namespace

TEST_CASE("STRICT_SPREAD lands bundles on two workers; removal frees both") {
  manta::local_cluster c;
  auto w1 = c.add_worker(1);
  auto w2 = c.add_worker(1);
  c.join(0); // the driver holds no bundle: it has no CPUs
  auto pg = manta::create_placement_group(two_cpus, manta::placement_strategy::strict_spread,
                                          "spread2");
  REQUIRE(pg.wait(30s));

  // The state API: each bundle on its own worker.
  auto info = info_of(pg);
  REQUIRE(info);
  CHECK(info->state == "CREATED");
  REQUIRE(info->bundles.size() == 2);
  CHECK(!info->bundles[0].node.empty());
  CHECK(!info->bundles[1].node.empty());
  CHECK(info->bundles[0].node != info->bundles[1].node);
  // The head's dashboard asks the driver: the same group, bundles and nodes.
  auto r = manta::tools::http_get(c.dashboard_address(), "/api/placement_groups");
  REQUIRE(r.status == 200);
  bool listed = false;
  auto groups = boost::json::parse(r.body);
  for (auto& g : groups.as_array()) {
    auto& o = g.as_object();
    if (o.at("id").as_string() != pg.id())
      continue;
    listed = true;
    CHECK(o.at("state").as_string() == "CREATED");
    auto& bundles = o.at("bundles").as_array();
    REQUIRE(bundles.size() == 2);
    CHECK(bundles[0].as_object().at("node").as_string() == info->bundles[0].node);
    CHECK(bundles[1].as_object().at("node").as_string() == info->bundles[1].node);
  }
  CHECK(listed);

  // Tasks in bundle 0 and 1 run on two different worker processes, on the
  // node the state API names.
  auto [node0, pid0] = manta::get(manta::task(node_and_pid).placement_group(pg, 0).remote(), 30s);
  auto [node1, pid1] = manta::get(manta::task(node_and_pid).placement_group(pg, 1).remote(), 30s);
  CHECK(node0 != node1);
  CHECK(pid0 != pid1);
  CHECK((pid0 == w1 || pid0 == w2));
  CHECK((pid1 == w1 || pid1 == w2));
  CHECK(info->bundles[0].node == "node-" + std::to_string(node0));
  CHECK(info->bundles[1].node == "node-" + std::to_string(node1));

  // An actor in bundle 1 lives there.
  auto a = manta::actor<where_am_i>().placement_group(pg, 1).remote();
  CHECK(manta::get(a.call(&where_am_i::node).remote(), 30s) == node1);
  CHECK(manta::get_placement_group("spread2").id() == pg.id());

  // More than a bundle holds never runs there.
  CHECK_THROWS_AS(manta::task(node_and_pid).num_cpus(2).placement_group(pg, 0).remote(),
                  manta::infeasible_task_error);

  // Three STRICT_SPREAD bundles on two nodes with CPUs: never, said at once.
  auto t0 = steady::now();
  try {
    manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                                  manta::placement_strategy::strict_spread);
    FAIL("three STRICT_SPREAD bundles were accepted on two nodes with CPUs");
  } catch (const manta::placement_group_infeasible_error& e) {
    MESSAGE(std::string{e.what()});
    CHECK(std::string{e.what()}.find("each bundle on a node of its own") != std::string::npos);
  }
  CHECK(steady::now() - t0 < 1s);

  // A second group that fits the cluster but not what is free now waits.
  auto dir = scratch("remove");
  auto held = manta::task(hold_bundle).placement_group(pg, 0).remote(dir + "/held");
  REQUIRE(manta_test::wait_for_text(dir + "/held", "started", 30s));
  auto later = manta::create_placement_group(two_cpus, manta::placement_strategy::strict_spread);
  CHECK_FALSE(later.wait(500ms));
  CHECK(info_of(later)->state == "PENDING");
  // Work submitted into it now waits for it, then runs on its bundles' nodes.
  auto early_task = manta::task(node_and_pid).placement_group(later, 1).remote();
  auto early_actor = manta::actor<where_am_i>().placement_group(later, 0).remote();
  auto early_call = early_actor.call(&where_am_i::node).remote();
  CHECK(manta::wait(std::vector{early_task}, 1, 300ms).ready.empty());

  // Removing the first fails what runs inside and frees both workers: the
  // second is reserved then.
  manta::remove_placement_group(pg);
  CHECK_THROWS_AS(manta::get(held, 30s), manta::placement_group_removed_error);
  CHECK_THROWS_AS(manta::get(a.call(&where_am_i::node).remote(), 30s), manta::actor_died_error);
  CHECK(wait_for_state(pg, "REMOVED", 10s));
  CHECK(later.wait(30s));
  auto linfo = info_of(later);
  REQUIRE(linfo);
  CHECK(linfo->bundles[0].node != linfo->bundles[1].node);
  CHECK(linfo->bundles[1].node == "node-" + std::to_string(manta::get(early_task, 30s).first));
  CHECK(linfo->bundles[0].node == "node-" + std::to_string(manta::get(early_call, 30s)));

  // And once it goes too, each worker's CPU runs an ordinary task again.
  manta::remove_placement_group(later);
  auto nodes = manta_test::worker_nodes(2);
  REQUIRE(nodes.size() == 2);
  for (auto [pid, node] : nodes) {
    auto r = manta::task(node_and_pid).node_affinity(node).remote();
    CHECK(manta::get(r, 30s).second == pid);
  }
}

TEST_CASE("a worker that dies with a bundle: that bundle is placed again on a node that "
          "joins, its work runs there, the other bundle's work goes on") {
  manta::local_cluster c;
  c.add_worker(1);
  c.add_worker(1);
  c.join(0);
  auto pg = manta::create_placement_group(two_cpus, manta::placement_strategy::strict_spread);
  REQUIRE(pg.wait(30s));
  auto [keeper_node, keeper] = manta::get(manta::task(node_and_pid).placement_group(pg, 0).remote(),
                                          30s);
  auto [victim_node, victim] = manta::get(manta::task(node_and_pid).placement_group(pg, 1).remote(),
                                          30s);
  REQUIRE(keeper != victim);
  auto dir = scratch("dies");
  auto go = dir + "/go";
  auto survivor = manta::task(hold_until).placement_group(pg, 0).remote(dir + "/kept", go);
  auto lost = manta::task(hold_until).placement_group(pg, 1).remote(dir + "/lost", go);
  REQUIRE(manta_test::wait_for_text(dir + "/kept", "started " + std::to_string(keeper), 30s));
  REQUIRE(manta_test::wait_for_text(dir + "/lost", "started " + std::to_string(victim), 30s));
  c.kill_worker(victim, 1);

  // The group stays; bundle 1 waits for a node: STRICT_SPREAD cannot put
  // it beside bundle 0, and the driver has no CPUs.
  REQUIRE(wait_for_state(pg, "RESCHEDULING", 30s));
  auto during = info_of(pg);
  REQUIRE(during);
  CHECK(during->bundles[0].node == "node-" + std::to_string(keeper_node));
  CHECK(during->bundles[1].node.empty());
  CHECK(pg.wait(0s)); // ready() stays sealed
  auto moved = manta::task(node_and_pid).placement_group(pg, 1).remote();
  CHECK(manta::wait(std::vector{moved}, 1, 0ms).ready.empty()); // no node can hold it

  auto newcomer = c.add_worker(1);
  REQUIRE(wait_for_state(pg, "CREATED", 60s));
  auto after = info_of(pg);
  CHECK(after->bundles[0].node == "node-" + std::to_string(keeper_node));
  CHECK(!after->bundles[1].node.empty());
  CHECK(after->bundles[1].node != "node-" + std::to_string(victim_node));
  CHECK(after->bundles[1].node != after->bundles[0].node);
  // Work in bundle 1 runs on the newcomer: the task submitted meanwhile,
  // and the one that was running on the dead worker, run again there.
  // (one at a time: the bundle has one CPU).
  REQUIRE(manta_test::wait_for_text(dir + "/lost", "started " + std::to_string(newcomer), 60s));
  std::ofstream{go} << "go\n";
  CHECK(manta::get(lost, 60s) == newcomer);
  CHECK(manta::get(moved, 60s).second == newcomer);
  // The task in bundle 0 was never disturbed: it ran once, where it started.
  CHECK(manta::get(survivor, 60s) == keeper);

  // Removal gives both bundles back: a new two-bundle group fits again.
  manta::remove_placement_group(pg);
  CHECK(wait_for_state(pg, "REMOVED", 30s));
  auto again = manta::create_placement_group(two_cpus, manta::placement_strategy::strict_spread);
  CHECK(again.wait(60s));
}

TEST_CASE("a group whose only node died is placed again whole (STRICT_PACK)") {
  manta::local_cluster c;
  auto first = c.add_worker(2);
  c.join(0);
  auto pg = manta::create_placement_group(two_cpus, manta::placement_strategy::strict_pack);
  REQUIRE(pg.wait(30s));
  REQUIRE(manta::get(manta::task(node_and_pid).placement_group(pg, 1).remote(), 30s).second
          == first);
  c.kill_worker(first, 2);
  REQUIRE(wait_for_state(pg, "RESCHEDULING", 30s));
  auto second = c.add_worker(2);
  REQUIRE(wait_for_state(pg, "CREATED", 60s));
  auto g = info_of(pg);
  CHECK(g->bundles[0].node == g->bundles[1].node);
  CHECK(manta::get(manta::task(node_and_pid).placement_group(pg, 0).remote(), 60s).second
        == second);
  CHECK(manta::get(manta::task(node_and_pid).placement_group(pg, -1).remote(), 60s).second
        == second);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
