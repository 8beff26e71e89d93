#pragma once

#include "manta/store/buffer_pool.hpp"
#include "manta/store/copy_lanes.hpp"
#include "manta/store/held_objects.hpp"
#include "manta/store/memory_budget.hpp"
#include "manta/store/object_table.hpp"
#include "manta/store/spill_store.hpp"
#include "manta/store/spilled_refs.hpp"

#include <atomic>
#include <cstddef>
#include <string>

namespace manta::detail {

/// A node's object store: the object table, the memory budget, the spill
/// store with the refs kept with its files, the results held for other
/// nodes and the buffer pool, made by the runtime with its config
/// (`rt.store()`).
///
/// Reference-counted, because what it stores outlives the runtime: a ref
/// the user keeps past `shutdown`, a task left running after shutdown's
/// grace, a pooled buffer's deleter run at exit all call back into the
/// store they came from when they drop. Each slot counts as one reference
/// (the object table's count of its live slots is the count: no atomic of
/// its own per slot), as does each value counted in the budget
/// (`value_account`), each pooled buffer in use and the runtime. The last
/// one to go destroys the store, so a second `init` gets a fresh store
/// while objects of the first still drop into theirs.
class object_store {
public:
  struct settings {
    size_t memory_limit = memory_budget::default_limit();
    std::string spill_directory; ///< "" for the default
    bool spilling = true;
  };

  /// A new store holding one reference, its maker's (let go by `release`).
  static object_store* make(const settings& cfg);

  object_store(const object_store&) = delete;
  object_store& operator=(const object_store&) = delete;

  void retain() noexcept { table_.hold(); }

  /// Lets go of one reference; the last destroys the store.
  void release() noexcept { table_.unhold(); }

  /// What `shutdown` does to the store as its runtime lets go of it: spill
  /// files are removed (refs still held to spilled objects then fail with
  /// `object_lost_error`), kept buffers go back to the system and results
  /// held for other nodes are dropped. Objects still referenced stay, and
  /// drop into this store later.
  /// Done once; the store's destructor does it for a store never closed.
  void close();

  object_table& table() noexcept { return table_; }
  memory_budget& budget() noexcept { return budget_; }
  spill_store& spill() noexcept { return spill_; }
  /// The refs inside the values of this store's spill files.
  spilled_refs& kept_refs() noexcept { return kept_refs_; }
  held_objects& held() noexcept { return held_; }
  buffer_pool& pool() noexcept { return pool_; }
  copy_lanes& lanes() noexcept { return lanes_; }

private:
  friend class object_table; // destroys it when its last reference goes

  explicit object_store(const settings& cfg);
  ~object_store();

  // Members in the order they use each other: the table first, the pool
  // (which asks the budget and the table) last.
  object_table table_;
  memory_budget budget_;
  spill_store spill_;
  spilled_refs kept_refs_; // empty once no slot is left, before the table goes
  held_objects held_;
  buffer_pool pool_;
  copy_lanes lanes_;
  std::atomic<bool> closed_{false};
};

} // namespace manta::detail
