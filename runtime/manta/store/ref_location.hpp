#pragma once

#include <cstdint>
#include <vector>

/// Where a ref written on this node says its object's bytes are
/// (docs/cluster.md, "Passing on"): for lend_ref and the owner's answer to
/// a borrower of a pending ref (borrowers.cpp).
namespace manta::detail {

class object_slot;
class runtime;
struct ref_wire;

/// What writing a ref to a value lent and kept for it.
struct located {
  /// The lends of the refs inside the bytes written now (inlined in the
  /// ref, or kept here to serve): the caller ties them to the object's pin.
  std::vector<uint64_t> inner;
  /// The size of the bytes kept here to serve, encoded again (0: none):
  /// the caller drops them with the pin (`stop_serving`).
  uint64_t served = 0;
};

/// Where the bytes of `slot` (sealed, not failed) are served, and their
/// encoded size, written into `w`. False if they cannot be (no codec: the
/// type cannot be rebuilt from bytes). On a driver, a value another node
/// lent it is decoded and written again as this node's own
/// (`rewrites_lent`, far_objects.hpp): a small one inlined in `w`, a large
/// one kept in `held_objects` and served by this node's data path. That
/// needs a read of the bytes from their holder on the calling thread, even
/// a scheduler thread of CAF's (the cluster client encodes a task's
/// arguments): a lent record is read straight from its holder's data path,
/// never through an actor, so it cannot wait on its own thread, and it
/// waits at most the transfer's stall timeout. The owner's answer to a
/// borrower of a ref it passed on while its object was pending reads it the
/// same way (`ref_resolutions`, on the router's thread). Throws
/// `object_lost_error` if the bytes cannot be read (`owner_died_error` when
/// the node that lent it is gone).
bool locate(runtime& rt, const object_slot& slot, ref_wire& w, located& out);

/// The bytes `locate` kept here for object `id` are no longer served (its
/// pin went, and with it the lends of the refs inside them).
void stop_serving(uint64_t id);

} // namespace manta::detail
