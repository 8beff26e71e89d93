#pragma once

#include "manta/store/object_slot.hpp"

#include <mutex>
#include <typeinfo>
#include <unordered_map>
#include <vector>

/// The refs inside a value written to a spill file (`object_slot::spill`).
/// They never leave this node, so they are not lent (borrowers.hpp): the
/// spill keeps their slots here, by the spilled slot, so they keep their
/// objects alive while the value is on disk as they did in memory; the
/// value read back gets those same slots. They go with the spill file
/// (its object freed, or the file written anew). Each store keeps those of
/// its own slots (`object_store::kept_refs`). Ray spills objects
/// holding refs the same way: the refs inside stay counted by the outer
/// object while it is spilled.
namespace manta::detail {

struct ref_wire;

/// While alive on a thread, the refs written (`lend_ref`) are kept in
/// `refs` and written as the id of their slot; the refs read
/// (`borrow_ref`) are the slots of `refs` those ids name.
class spilled_refs_scope {
public:
  explicit spilled_refs_scope(std::vector<slot_ptr>& refs) noexcept;
  ~spilled_refs_scope();
  spilled_refs_scope(const spilled_refs_scope&) = delete;
  spilled_refs_scope& operator=(const spilled_refs_scope&) = delete;

  /// The innermost scope on this thread, or null.
  static spilled_refs_scope* current() noexcept;

  /// Writes `slot` (not null), a ref to a `type`, into `w` and keeps it.
  void write(const slot_ptr& slot, const std::type_info& type, ref_wire& w);

  /// The kept slot `w` names; throws `object_lost_error` if none.
  slot_ptr read(const ref_wire& w) const;

private:
  std::vector<slot_ptr>& refs_;
  spilled_refs_scope* prev_;
};

/// The refs inside a store's values on disk, by their slot (few: only
/// values holding refs have an entry). A part of the store rather than of
/// the runtime: a spilled object outlives the runtime as its store does,
/// and its file, and the refs kept with it, go when it is freed.
class spilled_refs {
public:
  /// Keeps `refs`, written into the spill file of `spilled`, until
  /// `drop(spilled)`.
  void keep(const object_slot* spilled, std::vector<slot_ptr> refs);

  /// A copy of the refs kept for `spilled`'s spill file (none if it holds
  /// none), to read it back with.
  std::vector<slot_ptr> of(const object_slot* spilled);

  /// `spilled`'s spill file is gone: the refs kept for it go.
  void drop(const object_slot* spilled);

private:
  std::mutex mtx_;
  std::unordered_map<const object_slot*, std::vector<slot_ptr>> kept_;
};

} // namespace manta::detail
