#pragma once

#include "actors/atoms.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/sched/stream_items.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

/// The items of a streaming generator that runs on another node, as the
/// caller's process handles them: the driver's cluster client and a
/// worker's node manager (a worker calls generators through lent handles)
/// take the same two messages the same way.
namespace manta::actors {

/// An item a producer on another node sent (the sender, vetted by the
/// caller): into this process's stream of `task`. `held`: the container
/// pinning its refs on the producer's node (0: none), let go once it is
/// decoded or dropped here.
inline void deliver_item(caf::event_based_actor* self, uint64_t task, uint64_t index,
                         const std::vector<char>& bytes, uint64_t held) {
  detail::deliver_contained_item(task, index, bytes, held,
                                 caf::actor_cast<caf::actor>(self->current_sender()));
}

/// This process's caller took items of `task` (back pressure): on to the
/// `producer`'s node manager, with this node's cluster `token`. Only a
/// stream of this process says so.
inline void forward_item_ack(caf::event_based_actor* self, const caf::actor& producer,
                             const std::string& token, uint64_t task, uint64_t taken) {
  if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
    return;
  if (producer)
    self->send(producer, item_ack_atom::value, token, task, taken);
}

} // namespace manta::actors
