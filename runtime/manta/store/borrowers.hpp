#pragma once

#include "manta/store/borrower_set.hpp"
#include "manta/store/object_slot.hpp"
#include "manta/store/ref_wire.hpp"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

/// Object refs crossing nodes inside values (docs/cluster.md, "Borrowed
/// refs"): Ray's ownership and borrower protocol. A ref travels as its
/// object's *owner*, the node that counts who borrowed it, its id, and the
/// data path (host, port) that serves its bytes with their size. Writing
/// a ref lends it: the owner pins the object until every node that
/// reported a copy dropped it (borrower_set.hpp, as for actor handles).
/// Reading one elsewhere makes a *borrowed* slot, sealed like a remote
/// result (`object_slot::seal_remote`), whose first read fetches the bytes
/// over the data path; the borrower tells the owner when it made it (+1)
/// and when its last local copy is gone (-1), over the same links and
/// messages as actor handles (`actrelease`). A worker passes a ref it
/// borrowed on as its owner's; a driver passes one on as its own (the node
/// it sends it to may have no link to the owner, but has one to it), and
/// the value written again, so that the refs inside are its own too
/// (`rewrites_lent`, far_objects.hpp; a large one served by its own data
/// path, ref_location.hpp). A ref
/// to an object still being computed is lent the same way; its borrowed
/// slot waits, and the owner tells the borrower where the object is once
/// it is sealed (`ref_resolutions`, `ref_resolved`).
namespace manta::detail {

struct value_codec;

/// The wire form of `slot` (a ref to a value of type `type`). An object
/// this node owns (or, on a driver, borrowed) is lent: pinned here until
/// its borrowers let go. Returns a non-empty error text instead when the
/// ref cannot be written here: outside a cluster. Written into a spill
/// file (a `spilled_refs_scope` on this thread), it is kept with that
/// file instead (spilled_refs.hpp), and `borrow_ref` reads it back.
std::string lend_ref(const slot_ptr& slot, const std::type_info& type, ref_wire& out);

/// The slot `w` names, for a value of type `type` (`codec` decodes it):
/// this node's own object if it is the owner, else a borrowed slot (one
/// per id while a ref to it lives here). A ref to an object still being
/// computed when it was sent gives a slot sealed once its owner says where
/// the object is (`ref_resolved`; `get` waits meanwhile); a ref that
/// failed, or that came back to an owner that no longer has it, gives a
/// slot sealed with `object_lost_error` saying why. Throws `error` for a
/// type mismatch.
slot_ptr borrow_ref(const std::type_info& type, const value_codec* codec, const ref_wire& w);

/// Borrower side: the last local copy of object `id` borrowed from
/// `owner` is gone (its slot's remote record died): tells the owner.
void borrowed_ref_gone(uint16_t owner, uint64_t id);

/// Owner side: node `from` made (+1) or dropped (-1) its borrowed slot of
/// object `id`. Returns false if `id` was never lent here.
bool ref_held(uint64_t id, uint16_t from, int32_t delta);

/// Owner side: where the object `id`, lent while it was still being
/// computed, is now that it is sealed, for each borrower node that waits
/// to hear it (each told once): (node, the encoded ref_wire). Empty while
/// it is not sealed. Called by the node's router (cluster client or node
/// manager) when told `(refsealed, id)`; it sends each to its node.
std::vector<std::pair<uint16_t, std::vector<char>>> ref_resolutions(uint64_t id);

/// Borrower side: the owner's answer to a ref that was pending when it
/// was written: its borrowed slot is sealed as the object it names (or
/// with `object_lost_error` if it failed), or, if dropped meanwhile, the
/// owner is told this node let go.
void ref_resolved(std::span<const char> bytes);

/// Owner side: node `index` is gone: its borrowed slots count no more.
/// Borrower side: slots still waiting for that owner's answer fail with
/// `owner_died_error`.
void refs_node_gone(uint16_t index);

/// The nodes holding a borrowed copy of object `id` lent here (state
/// API, memory_summary); empty if none.
std::vector<uint16_t> ref_borrowers(uint64_t id);

/// Owner side: `f` on the borrower set of each object of `ids` lent here
/// (none for one never lent), under the table's lock; it returns the pin
/// to let go of, or null. The pins go after the lock (the last one frees
/// its object). The interface of the containers (contained_refs.hpp).
void update_lent(const std::vector<uint64_t>& ids,
                 const std::function<slot_ptr(borrower_set<object_slot>&)>& f);

/// Forgets every lent ref (runtime shutdown).
void clear_lent_refs();

} // namespace manta::detail
