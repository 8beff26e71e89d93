#pragma once

#include "manta/task_options.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>

/// Where a task goes: the one placement rule of a cluster's driver
/// (actors/task_placement.cpp) and of the simulator (sim_placement.cpp).
/// Each tells it how its nodes stand now (what "room" means is its own: a
/// worker's CPUs times its queue window for the driver, free virtual CPUs
/// for the simulator) and does what it answers, so the two cannot decide
/// differently for the same view. Pure: no runtime, no randomness.
namespace manta::detail {

/// One node as the placer sees it.
struct node_view {
  uint32_t index = 0;
  /// It is alive and offers the task's demand in total: it could ever run it.
  bool can_fit = false;
  /// It can take the task now.
  bool has_room = false;
  /// The share of its CPUs that is busy: the least-loaded node is the lowest.
  double load = 0;
};

/// What is to be placed, and from where.
struct placement_ask {
  scheduling_strategy where;
  /// The submitting node (its own pool), if the task may run there: first
  /// for the default strategy, in its turn for SPREAD, and where the task
  /// queues when every other node is full. None for a rebuild of a lost
  /// object, which runs on a worker.
  std::optional<node_view> local;
  /// The node holding most of its arguments' bytes (`most_bytes`), or 0.
  uint32_t prefer = 0;
};

/// The answer.
struct node_choice {
  enum kind_type {
    /// Run it on `node` now (the local node included).
    run_on,
    /// Queue it on the local node, which can run it once it has room.
    queue_local,
    /// No node has room now: wait for one.
    wait,
    /// Pinned (hard affinity) to a node that is gone or can never fit it.
    pinned_away,
    /// No live node can ever fit it.
    nowhere,
  };
  kind_type kind = wait;
  uint32_t node = 0;

  bool operator==(const node_choice&) const = default;
};

/// The rule, in order: a node affinity goes to its node (waiting while that
/// node is full; `pinned_away` if it is gone, unless soft: then as the
/// default); SPREAD takes the next node with room after `spread_last` in
/// index order, the local one included (and sets `spread_last`); the
/// default takes the local node if it has room, then `prefer` if it has
/// room; then the least-loaded node with room (the lowest index on a tie);
/// then the local node's queue if it can ever run the task; else `wait`
/// while some node could ever fit it, or `nowhere`. `others`: every node
/// but the local one, by ascending index.
node_choice choose_node(const placement_ask& ask, std::span<const node_view> others,
                        uint32_t& spread_last);

/// The node holding the most bytes in `held` (node -> bytes of the task's
/// object arguments held there, other than on the submitting node), the
/// lowest index on a tie; 0 if `held` is empty: where placement prefers.
uint32_t most_bytes(const std::map<uint32_t, uint64_t>& held);

} // namespace manta::detail
