#pragma once

#include "manta/store/far_objects.hpp"

#include <caf/actor.hpp>
#include <caf/node_id.hpp>

#include <cstdint>
#include <span>

/// The owner's side of large generator items beyond `item_stream`'s own
/// entry points: the driver's cluster client makes the record of a large
/// item a worker keeps (it tracks it, to rebuild it by re-running the
/// generator), and a node that keeps large items for a worker reading a
/// method of its actor through a lent handle frees them when that worker
/// dies. Implemented with the stream index in item_stream.cpp (the items
/// kept for lent handles' readers in lent_items.cpp).
namespace manta::detail {

/// Like `item_stream::deliver_stored`, with the record made by the caller
/// (which keeps a weak pointer to it, to move it if a re-run of the
/// generator rebuilds the item elsewhere).
void deliver_item_record(uint64_t task_id, uint64_t index, remote_ptr record, caf::actor from);

/// Like `item_stream::deliver`, for an item whose refs (and actor handles)
/// the node that encoded it pins under its id `held` (0: it holds none)
/// until this node decoded the item or dropped it undecoded (its stream
/// gone, its early buffer overflowed, a retry's repeat, a re-run's item):
/// then `item_read(held)` tells that node, after the +1s of the decode.
void deliver_contained_item(uint64_t task_id, uint64_t index, std::span<const char> bytes,
                            uint64_t held, caf::actor from);

/// Tells the node that encoded an item that its container `held` ended
/// here (an `actrelease` of delta `result_read_delta`, on the route of
/// this node's +1s, after them). Nothing for 0.
void item_read(uint64_t held);

/// Like `item_stream::lend_item`, naming the node of the borrower: its
/// items are freed by `lent_items_node_gone` if it dies before letting go.
void lend_item_to(uint64_t object, const caf::node_id& borrower);

/// The node `borrower` is gone (its connection to this driver was lost):
/// the large items kept for it are freed, since nothing can read them any
/// more. Returns how many.
size_t lent_items_node_gone(const caf::node_id& borrower);

} // namespace manta::detail
