// The owner's reservation steps of placement groups (bundle_reservations.hpp),
// the one copy the driver's cluster client and the simulator share, driven
// through a port that records what they ask of the nodes and answers as a
// test says: the two phases, a refusal, no room (polling or waiting for
// freed resources), a removal during a try, and a dead node's bundles
// placed again.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/placement/bundle_reservations.hpp"
#include "manta/store/object_slot.hpp"

#include <algorithm>
#include <map>
#include <utility>

using manta::placement_strategy;
using manta::resource_map;
using namespace manta::detail;

namespace {

/// Nodes 1 to 3 of 2 CPUs each, unless a test changes `room`.
struct fake_port final : bundle_reservations::port {
  placement_registry reg;
  std::map<uint16_t, double> room{{1, 2.0}, {2, 2.0}, {3, 2.0}};
  /// What was asked, in order: "prepare 1", "commit 2", "release 1", ...
  std::vector<std::string> calls;
  /// Prepares not answered yet: (attempt, node).
  std::vector<std::pair<uint32_t, uint16_t>> asked;
  std::vector<std::chrono::milliseconds> timers;
  int reserved_calls = 0;
  int dropped_calls = 0;

  placement_registry& registry() override { return reg; }
  std::vector<layout_node> rooms() override {
    std::vector<layout_node> out;
    for (auto& [n, cpus] : room)
      out.push_back({n, {{"CPU", cpus}}});
    return out;
  }
  void prepare(const placement_ptr&, uint32_t attempt, uint16_t node,
               std::vector<indexed_bundle>) override {
    calls.push_back("prepare " + std::to_string(node));
    asked.emplace_back(attempt, node);
  }
  void commit(const placement_ptr&, uint16_t node, const std::vector<indexed_bundle>&) override {
    calls.push_back("commit " + std::to_string(node));
  }
  void release(const placement_ptr&, uint16_t node, const std::vector<indexed_bundle>&) override {
    calls.push_back("release " + std::to_string(node));
  }
  void release_late(uint64_t, uint16_t node) override {
    calls.push_back("late " + std::to_string(node));
  }
  void retry_after(std::chrono::milliseconds d) override { timers.push_back(d); }
  void reserved(const placement_ptr&) override { ++reserved_calls; }
  void dropped(const placement_ptr&) override { ++dropped_calls; }
};

placement_ptr group(uint64_t id, placement_strategy s, std::vector<double> cpus) {
  auto rec = std::make_shared<placement_record>();
  rec->id = id;
  rec->hex = "00000000000000" + std::to_string(10 + id);
  rec->strategy = s;
  for (auto c : cpus)
    rec->bundles.push_back({{"CPU", c}});
  rec->ready = std::make_shared<object_slot>(nullptr, manta::object_id{id}); // of no store
  rec->spread = true;
  return rec;
}

/// Answers every open prepare of `r` with `why` (per node; default yes).
void answer_all(fake_port& p, bundle_reservations& r, uint64_t id,
                std::map<uint16_t, std::string> why = {}) {
  auto open = std::move(p.asked);
  p.asked.clear();
  for (auto [attempt, node] : open)
    r.answered(id, attempt, node, why[node]);
}

/// The driver's policy: a try that finds no room polls.
struct polled {
  fake_port p;
  bundle_reservations r{p, bundle_reservations::when_no_room::poll};
};

} // namespace

TEST_CASE_FIXTURE(polled,
                  "both phases: every node of the layout prepares, then commits; ready is sealed") {
  auto g = group(1, placement_strategy::strict_spread, {1, 1});
  r.place(g);
  CHECK(p.calls == std::vector<std::string>{"prepare 1", "prepare 2"});
  CHECK_FALSE(g->ready->done());
  answer_all(p, r, 1);
  CHECK(p.calls == std::vector<std::string>{"prepare 1", "prepare 2", "commit 1", "commit 2"});
  CHECK(g->ready->done());
  // Where the cluster's layout put them, as the registry now says.
  CHECK(g->bundle_nodes == *lay_out(g->bundles, g->strategy, p.rooms()));
  CHECK(p.reserved_calls == 1);
  CHECK(p.timers.empty());
  // The driver's view of node 1 loses its reserved bundle.
  resource_map room{{"CPU", 2.0}};
  r.take_reserved(1, room);
  CHECK(room.at("CPU") == doctest::Approx(1.0));
}

TEST_CASE_FIXTURE(polled, "a refusal gives back what every asked node took and tries again later") {
  auto g = group(2, placement_strategy::strict_spread, {1, 1});
  r.place(g);
  answer_all(p, r, 2, {{2, "node-2 has no room"}});
  CHECK(p.calls == std::vector<std::string>{"prepare 1", "prepare 2", "release 1", "release 2"});
  CHECK_FALSE(g->ready->done());
  REQUIRE(p.timers == std::vector<std::chrono::milliseconds>{bundle_reservations::retry_delay});
  p.calls.clear();
  r.retry();
  CHECK(p.calls == std::vector<std::string>{"prepare 1", "prepare 2"});
  answer_all(p, r, 2);
  CHECK(g->ready->done());
  // An answer to an old try that took something: it goes back.
  r.answered(2, 1, 3, "");
  CHECK(p.calls.back() == "late 3");
}

TEST_CASE("no room: the driver polls, the simulator waits for resources to be freed") {
  for (auto policy : {bundle_reservations::when_no_room::poll,
                      bundle_reservations::when_no_room::wait_for_free}) {
    fake_port p;
    p.room = {{1, 1.0}};
    bundle_reservations r{p, policy};
    auto g = group(3, placement_strategy::strict_pack, {1, 1});
    r.place(g);
    CHECK(p.calls.empty());
    if (policy == bundle_reservations::when_no_room::poll) {
      CHECK(p.timers.size() == 1);
    } else {
      CHECK(p.timers.empty());
      r.resources_freed();
      CHECK(p.timers.size() == 1);
      r.resources_freed(); // one timer is enough
      CHECK(p.timers.size() == 1);
    }
    p.room = {{1, 2.0}};
    r.retry();
    CHECK(p.calls == std::vector<std::string>{"prepare 1"});
    answer_all(p, r, 3);
    CHECK(g->ready->done());
  }
}

TEST_CASE_FIXTURE(polled, "a removal during a try gives back everything once every node answered") {
  auto g = group(4, placement_strategy::strict_spread, {1, 1});
  r.place(g);
  r.remove(g);
  CHECK(p.dropped_calls == 0); // the try in flight still waits for answers
  answer_all(p, r, 4);
  CHECK(p.calls == std::vector<std::string>{"prepare 1", "prepare 2", "release 1", "release 2"});
  CHECK(p.dropped_calls == 1);
  CHECK(r.size() == 0);
  CHECK_FALSE(g->ready->done());
}

TEST_CASE_FIXTURE(polled,
                  "a dead node's bundles are placed again on a node holding none of the others") {
  auto g = group(5, placement_strategy::spread, {1, 1});
  r.place(g);
  answer_all(p, r, 5);
  REQUIRE(g->bundle_nodes.size() == 2);
  auto dead = g->bundle_nodes[0];
  auto kept = g->bundle_nodes[1];
  uint16_t third = 6 - dead - kept; // of nodes 1, 2 and 3
  p.calls.clear();
  p.room.erase(dead);
  r.node_lost(dead, "died");
  CHECK(g->state == placement_record::phase::rescheduling);
  CHECK(g->cause == "node-" + std::to_string(dead) + ", which held bundle 0, died");
  CHECK(g->bundle_nodes == std::vector<uint16_t>{pending_bundle_node, kept});
  REQUIRE(p.timers.size() == 1);
  r.retry();
  // The kept node has room but holds bundle 1: the third node takes bundle 0.
  CHECK(p.calls == std::vector<std::string>{"prepare " + std::to_string(third)});
  answer_all(p, r, 5);
  CHECK(p.calls.back() == "commit " + std::to_string(third));
  CHECK(g->state == placement_record::phase::created);
  CHECK(g->bundle_nodes == std::vector<uint16_t>{third, kept});
  // Removed: both holders give their bundles back.
  p.calls.clear();
  r.remove(g);
  auto holders = std::vector<uint16_t>{third, kept};
  std::sort(holders.begin(), holders.end());
  CHECK(p.calls
        == std::vector<std::string>{"release " + std::to_string(holders[0]),
                                    "release " + std::to_string(holders[1])});
}
