#pragma once

#include "manta/cluster/node_choice.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

/// Where a new actor lives: the one rule of a cluster's driver
/// (remote_actor.cpp's `place_on_other_node`, then actors/cluster_actors.cpp's
/// `create_remote_actor`) and of the simulator (sim_placement.cpp). It is
/// not the task rule (node_choice.hpp): an actor stays on the node that
/// creates it whenever that node could ever hold it, and goes to a node
/// that can ever fit it, room or not, since it waits there for its CPUs.
/// Pure: no runtime, no randomness.
namespace manta::detail {

/// The first step, taken by the code that creates the actor: whether it
/// lives on the creating node. Only a driver sends actors elsewhere (a
/// worker's actors live on it). A node affinity stays only on its own node;
/// SPREAD stays on this node on turn 0 of every `1 + workers`
/// (`spread_turn`: how many SPREAD actors this node created before this
/// one); the default stays unless this node can never fit the demand
/// (`fits_here`) and some other node can (`fits_elsewhere`).
bool actor_stays_local(const scheduling_strategy& where, bool driver, uint32_t here, bool fits_here,
                       bool fits_elsewhere, size_t workers, size_t spread_turn);

/// The second step, for an actor that goes elsewhere (or a restart of one
/// whose node died): which of `others` (the live nodes but the creating
/// one, by ascending index; `can_fit`: it could ever hold the actor). Its
/// node affinity's node if that fits (else `pinned_away`, unless soft);
/// for SPREAD the next that fits after `spread_last` in index order,
/// wrapping (and sets `spread_last`); else the least-loaded that fits, the
/// lowest index on a tie; `nowhere` if none fits. `run_on` names the node.
node_choice choose_actor_node(const scheduling_strategy& where, std::span<const node_view> others,
                              uint32_t& spread_last);

} // namespace manta::detail
