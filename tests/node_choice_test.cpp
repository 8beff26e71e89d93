// Where a task goes (node_choice.hpp): the rule a cluster's driver
// (actors/task_placement.cpp) and the simulator (sim_placement.cpp) both
// follow, step by step, on nodes given as how they stand.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/cluster/actor_choice.hpp"
#include "manta/cluster/node_choice.hpp"
#include "manta/cluster/node_loss.hpp"
#include "manta/cluster/object_loss.hpp"

#include <vector>

using manta::scheduling_strategy;
using manta::detail::choose_node;
using manta::detail::most_bytes;
using manta::detail::node_choice;
using manta::detail::node_view;
using manta::detail::placement_ask;

namespace {

node_view roomy(uint32_t i, double load = 0) {
  return {i, true, true, load};
}
node_view full(uint32_t i) {
  return {i, true, false, 1};
}
node_view too_small(uint32_t i) {
  return {i, false, false, 0};
}

scheduling_strategy affinity(uint32_t node, bool soft = false) {
  scheduling_strategy s;
  s.kind = scheduling_strategy::node_affinity;
  s.node = static_cast<manta::node_id>(node);
  s.soft = soft;
  return s;
}

scheduling_strategy spread() {
  scheduling_strategy s;
  s.kind = scheduling_strategy::spread;
  return s;
}

node_choice run_on(uint32_t n) {
  return {node_choice::run_on, n};
}

} // namespace

TEST_CASE("the default strategy: this node first, then the preferred node, then the least "
          "loaded, then this node's queue") {
  uint32_t last = 0;
  std::vector<node_view> others{roomy(1, 0.5), roomy(2, 0.25), roomy(3, 0.25)};
  CHECK(choose_node({{}, roomy(0), 0}, others, last) == run_on(0));
  CHECK(choose_node({{}, full(0), 0}, others, last) == run_on(2)); // lowest index on a tie
  CHECK(choose_node({{}, full(0), 1}, others, last) == run_on(1)); // its arguments are there
  others[0] = full(1);
  CHECK(choose_node({{}, full(0), 1}, others, last) == run_on(2)); // the preferred one is full
  std::vector<node_view> busy{full(1), full(2)};
  CHECK(choose_node({{}, full(0), 0}, busy, last) == node_choice{node_choice::queue_local, 0});
  CHECK(choose_node({{}, too_small(0), 0}, busy, last) == node_choice{node_choice::wait, 0});
  CHECK(choose_node({{}, std::nullopt, 0}, busy, last) == node_choice{node_choice::wait, 0});
  std::vector<node_view> small{too_small(1)};
  CHECK(choose_node({{}, too_small(0), 0}, small, last) == node_choice{node_choice::nowhere, 0});
  CHECK(last == 0); // only SPREAD moves its turn
}

TEST_CASE("SPREAD takes the next node with room after the last one, this node in its turn") {
  uint32_t last = 0;
  std::vector<node_view> others{roomy(1), full(2), roomy(3)};
  std::vector<uint32_t> got;
  for (int i = 0; i < 5; ++i)
    got.push_back(choose_node({spread(), roomy(0), 0}, others, last).node);
  CHECK(got == std::vector<uint32_t>{1, 3, 0, 1, 3}); // node 2 is full: skipped
  CHECK(last == 3);
  // Without a local node (a lost object's rebuild) only the workers take turns.
  last = 3;
  CHECK(choose_node({spread(), std::nullopt, 0}, others, last) == run_on(1));
  // Nobody has room: as the default strategy would (this node's queue).
  std::vector<node_view> busy{full(1), full(2)};
  CHECK(choose_node({spread(), full(0), 0}, busy, last)
        == node_choice{node_choice::queue_local, 0});
}

TEST_CASE("a node affinity waits for its node, and only a soft one goes elsewhere") {
  uint32_t last = 0;
  std::vector<node_view> others{roomy(1, 0.5), full(2), roomy(3, 0.1)};
  CHECK(choose_node({affinity(1), full(0), 0}, others, last) == run_on(1));
  CHECK(choose_node({affinity(2), full(0), 0}, others, last) == node_choice{node_choice::wait, 0});
  CHECK(choose_node({affinity(0), full(0), 0}, others, last)
        == node_choice{node_choice::queue_local, 0});
  CHECK(choose_node({affinity(7), roomy(0), 0}, others, last)
        == node_choice{node_choice::pinned_away, 7});
  std::vector<node_view> small{roomy(1), too_small(2)};
  CHECK(choose_node({affinity(2), roomy(0), 0}, small, last)
        == node_choice{node_choice::pinned_away, 2});
  // Soft: the least-loaded node with room, not this node first and not
  // the preferred node.
  CHECK(choose_node({affinity(7, true), roomy(0), 1}, others, last) == run_on(3));
}

TEST_CASE("locality prefers the node holding most of the arguments' bytes") {
  CHECK(most_bytes({}) == 0);
  CHECK(most_bytes({{2, 10}, {3, 30}, {4, 20}}) == 3);
  CHECK(most_bytes({{3, 30}, {5, 30}}) == 3);
}

// Where an actor goes (actor_choice.hpp): the driver's `place_on_other_node`
// and `create_remote_actor`, and the simulator's `place_actor`.

TEST_CASE("an actor stays on the node that creates it unless it is pinned elsewhere, spread, or "
          "fits only elsewhere") {
  using manta::detail::actor_stays_local;
  scheduling_strategy plain;
  CHECK(actor_stays_local(plain, true, 0, true, true, 3, 0));
  CHECK(actor_stays_local(plain, true, 0, false, false, 3, 0)); // fits nowhere: fails here
  CHECK_FALSE(actor_stays_local(plain, true, 0, false, true, 3, 0));
  CHECK(actor_stays_local(affinity(0), true, 0, true, true, 3, 0));
  CHECK_FALSE(actor_stays_local(affinity(2), true, 0, true, true, 3, 0));
  // SPREAD: this node's turn is one in 1 + workers.
  std::vector<bool> turns;
  for (size_t turn = 0; turn < 8; ++turn)
    turns.push_back(actor_stays_local(spread(), true, 0, true, true, 3, turn));
  CHECK(turns == std::vector<bool>{true, false, false, false, true, false, false, false});
  // A worker keeps its actors, whatever they ask.
  CHECK(actor_stays_local(affinity(2), false, 1, true, true, 3, 1));
  CHECK(actor_stays_local(spread(), false, 1, true, true, 3, 1));
}

TEST_CASE("an actor sent elsewhere goes to its affinity, SPREAD's next node, or the least loaded "
          "that can ever fit it, room or not") {
  using manta::detail::choose_actor_node;
  uint32_t last = 0;
  // Full nodes count: an actor waits on its node for its CPUs.
  std::vector<node_view> others{full(1), {2, true, false, 0.5}, {3, true, false, 0.5}};
  CHECK(choose_actor_node({}, others, last) == run_on(2)); // lowest index on a tie
  others[0].load = 0.25;
  CHECK(choose_actor_node({}, others, last) == run_on(1));
  CHECK(choose_actor_node(affinity(3), others, last) == run_on(3));
  others[2] = too_small(3);
  CHECK(choose_actor_node(affinity(3), others, last) == node_choice{node_choice::pinned_away, 3});
  CHECK(choose_actor_node(affinity(3, true), others, last) == run_on(1));
  CHECK(choose_actor_node(affinity(7), others, last) == node_choice{node_choice::pinned_away, 7});
  // SPREAD: the next that fits after the last, wrapping; node 3 never fits.
  std::vector<uint32_t> spread_to;
  for (int i = 0; i < 4; ++i)
    spread_to.push_back(choose_actor_node(spread(), others, last).node);
  CHECK(spread_to == std::vector<uint32_t>{1, 2, 1, 2});
  CHECK(last == 2);
  std::vector<node_view> none{too_small(1), too_small(2)};
  CHECK(choose_actor_node({}, none, last) == node_choice{node_choice::nowhere, 0});
  CHECK(choose_actor_node(spread(), none, last) == node_choice{node_choice::nowhere, 0});
}

// What becomes of a task whose node died (node_loss.hpp): the driver's
// `node_lost` and the simulator's `lose`.

TEST_CASE("a task whose node died is retried while its tries and node failures allow") {
  using manta::detail::after_node_loss;
  using v = manta::detail::node_loss_verdict;
  CHECK(after_node_loss(1, 2, 1, 3) == v::retry);
  CHECK(after_node_loss(2, 2, 2, 3) == v::too_many_node_failures); // before the retries
  CHECK(after_node_loss(2, -1, 2, 3) == v::retry);                 // no bound of its own
  CHECK(after_node_loss(4, -1, 4, 3) == v::retries_used_up);       // 1 + max_retries tries
  CHECK(after_node_loss(1, 2, 1, 0) == v::retries_used_up);
  CHECK(after_node_loss(1, 0, 1, 3) == v::too_many_node_failures);
}

// What a read of a result lost with its node does (object_loss.hpp): the
// driver's `rebuild` and the simulator's `start_rebuild`.

TEST_CASE("a lost result is rebuilt from its lineage while its task's retries last") {
  using manta::detail::after_object_loss;
  using manta::detail::rebuild_again;
  using manta::detail::result_stays_on_node;
  using v = manta::detail::object_loss_verdict;
  CHECK_FALSE(result_stays_on_node(1u << 20)); // 1 MiB travels back with the answer
  CHECK(result_stays_on_node((1u << 20) + 1));
  CHECK(after_object_loss(true, 2) == v::rebuild);
  CHECK(after_object_loss(true, 0) == v::retries_used_up);
  CHECK(after_object_loss(false, 3) == v::no_lineage); // an actor call's result
  CHECK(rebuild_again(true, 1));
  CHECK_FALSE(rebuild_again(true, 0));
  CHECK_FALSE(rebuild_again(false, 3)); // its retry policy does not cover the failure
}

TEST_CASE("a held result keeps its arguments for its rebuild only if it can be rebuilt, within "
          "the lineage's byte limit") {
  using manta::detail::keeps_arguments;
  using manta::detail::lineage_pin_limit;
  CHECK(keeps_arguments(1, 2u << 20));
  CHECK(keeps_arguments(3, lineage_pin_limit));
  CHECK_FALSE(keeps_arguments(0, 2u << 20)); // never rebuilt: nothing kept for it
  CHECK_FALSE(keeps_arguments(3, lineage_pin_limit + 1)); // the chain is cut there
}
