#pragma once

#include "manta/actor/actor_anchor.hpp"
#include "manta/store/borrower_set.hpp"

#include <cstdint>
#include <string>
#include <typeinfo>
#include <vector>

/// Actor handles crossing nodes (docs/cluster.md, "Actor handles across
/// nodes"). A handle travels as its actor's *home*: the node whose runtime
/// holds the actor's engine (the actor_core that queues its calls, keeps
/// their order and restarts it), and the id the home knows it by. The home
/// keeps every handle it sent away (`lend`) so that a call arriving for
/// that id finds the engine (`lent_actor`). A process that reads a handle
/// of another home gets a stand-in core whose calls travel to the home as
/// TaskSpecs, like an attached handle's (attached_actor.hpp): from a
/// worker through its link to its owner (the home is the driver that sent
/// the handle), from a driver straight to the worker that is the home. So
/// a call through a forwarded handle to an actor on a third node takes two
/// hops (worker, driver, actor's node), and goes through the actor's one
/// engine, which keeps each caller's calls in order.
namespace manta::detail {

/// What a handle is on the wire; `id == 0` for an empty handle.
struct handle_wire {
  uint16_t home = 0;
  uint64_t id = 0;
  std::string cls; ///< the class's registered name, checked on arrival
};

/// The wire form of `anchor` (empty: all zero). A handle made here is lent:
/// kept alive here while other nodes hold it (lent_held), or the container
/// it is written in does (the thread's lend_scope, contained_refs.hpp), so
/// that calls from them find it. A handle a worker read from another node travels on as
/// its home's; one a driver read (from a worker that made the actor) is
/// lent as the driver's own, so that any worker reaches it through the
/// driver.
handle_wire lend(const anchor_ptr& anchor);

/// The handle `w` names, for a class `cls`: this process's own actor if
/// this is its home, else a stand-in whose calls travel to the home (one
/// per home and id while a handle to it lives here). Null for an empty
/// `w`. Throws `error` for a class mismatch, a handle of this node whose
/// actor is gone, or a home this process has no link to.
anchor_ptr borrow(const std::type_info& cls, const handle_wire& w);

/// The engine of an actor this node lent a handle to; null if none.
anchor_ptr lent_actor(uint64_t id);

/// Tells home `home` that this process made (+1) or dropped (-1) its
/// stand-in of the actor or object `id` the home lent (`actrelease`):
/// from a worker through its node manager (the home is its owner), from
/// a driver through its cluster client.
void tell_home(uint16_t home, uint64_t id, int32_t delta);

/// Home side: node `from` made (`delta` +1) or dropped (-1) its stand-in
/// of lent actor `id` (or of a lent object ref: one message serves both,
/// as actor and object ids come from one counter per node; borrowers.hpp). Once every borrower that
/// held one dropped it, the home lets go of the actor (it ends when this node's own handles are
/// gone too, as any actor); a handle lent again, or still travelling in a
/// spec whose task holds it, is taken back when its borrower reports it.
void lent_held(uint64_t id, uint16_t from, int32_t delta);

/// Home side: a container that held handles `ids` (contained_refs.hpp)
/// ended; with `loosen`, they were lent in it but not part of it (a
/// generator's items) and stay pinned until some borrower reported and
/// none holds them. Ids of no lent actor are skipped (object refs).
void lent_handles_container_gone(const std::vector<uint64_t>& ids, bool loosen);

/// Home side: node `index` is gone (or its link closed): its stand-ins
/// (of actors and of object refs) count no more.
void lent_node_gone(uint16_t index);

/// Forgets every lent handle and object ref (runtime shutdown).
void clear_lent();

} // namespace manta::detail
