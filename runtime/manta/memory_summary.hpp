#pragma once

#include "manta/object_id.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace manta {

/// One live object as `memory_summary` sees it.
struct object_memory_info {
  object_id id; ///< Its id.
  /// Bytes the value occupies in memory (also while it is spilled).
  size_t size_bytes = 0;
  /// The node that owns the object (created it and tracks its references).
  std::string owner;
  /// Holders of the object: object_refs (in the driver, in task arguments,
  /// nested in other objects, in actor state) plus pending tasks' inputs.
  long references = 0;
  /// "memory", "spilled", "node N" (made on cluster node N, not read here
  /// yet), "pending" (not produced yet), "failed", or "reading" (a copy of
  /// another node's object still arriving). A worker also lists the results
  /// it keeps for owners on other nodes and its copies of their objects
  /// (type "encoded bytes"): they count in its budget and spill.
  std::string location;
  /// The value's C++ type.
  std::string type;
  /// The nodes holding a ref to it that this node lent them inside a value
  /// (docs/cluster.md, "Borrowed refs"): the object is kept for them.
  std::vector<uint16_t> borrowers;
  /// Where it was created: "file:line (function)" for `put`, "task <name>"
  /// for a task's result.
  std::string created_by;
  /// Readers holding a reference into the value right now (it cannot be
  /// spilled meanwhile).
  unsigned pins = 0;

  /// The field named `key` as text, for `list_objects` filters ("id",
  /// "location", "type", "owner", "created_by"); empty for unknown keys.
  std::string field(std::string_view key) const;
};

/// The node's object store at one moment: every live object and the totals.
struct memory_report {
  /// Live objects, largest first.
  std::vector<object_memory_info> objects;
  size_t num_objects = 0; ///< Live objects.
  /// Bytes of values held in memory (what the budget limits), including
  /// values of freed objects still read through `get_shared`.
  size_t bytes_in_memory = 0;
  size_t spilled_objects = 0; ///< Spilled ones.
  /// In-memory size of the spilled values.
  size_t bytes_spilled = 0;
  /// Spill files and their size on disk.
  size_t spill_files = 0;
  size_t spill_bytes_on_disk = 0; ///< On disk.
  /// `init_options::object_store_memory`.
  size_t budget_bytes = 0;
  std::string spill_directory; ///< Their folder.

  /// A readable table: one line per object (at most `max_rows`), then totals.
  std::string to_string(size_t max_rows = 50) const;
};

/// Reports what the object store holds, where, for whom, and who created
/// it: the first thing to look at when memory grows or `put` fails with
/// `object_store_full_error`.
memory_report memory_summary();

} // namespace manta
