#pragma once

#include "manta/resources.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace manta {

/// A node of the cluster by its index: 0 for an embedded node, 1, 2, ...
/// in the order nodes joined a cluster. `current_node()` says which node
/// runs the calling code.
using node_id = uint16_t;

/// Where a task may run in a cluster (Ray's scheduling strategies). Outside a
/// cluster every task runs on the one node, and only a hard affinity to
/// another node is an error.
struct scheduling_strategy {
  enum kind_type {
    /// This node first; when it is busy, the least-loaded node with room.
    default_placement,
    /// Round robin over every node with room, this one included, so that
    /// tasks spread out even while this node could take them.
    spread,
    /// On `node` only; with `soft`, elsewhere if that node is dead or
    /// cannot ever fit the task.
    node_affinity,
  };
  kind_type kind = default_placement; ///< Which strategy.
  node_id node = 0; ///< For `node_affinity`: the node.
  bool soft = false; ///< For `node_affinity`: fall back to the default placement.
  /// Internal, set by `.placement_group(pg, i)` in a cluster's driver while
  /// the group is not reserved yet: its id and the bundle index, so that
  /// the task or actor goes to that bundle's node once the group is.
  uint64_t group = 0;
  int bundle = -1; ///< Internal: see `group`.
};

/// Options of one task submission, set by chaining on `task(f)`.
struct task_options {
  /// Name shown in errors and tools; defaults to the registered function name.
  std::string name;
  /// Resources the task holds while it runs.
  detail::resource_demand resources;
  /// How often a failed task is re-run. Failures of the task's own code count
  /// only with `retry_exceptions`; otherwise retries cover system failures
  /// (a lost worker or node), as in Ray.
  int max_retries = 3;
  /// Whether any exception thrown by the task's code triggers a retry.
  bool retry_exceptions = false;
  /// Only exceptions of these types (or derived from them) trigger a retry:
  /// the types' keys (`detail::exception_keys`), set by
  /// `retry_exceptions<E...>()`. Empty: `retry_exceptions` decides.
  std::vector<std::string> retry_exception_types;
  /// In a cluster, after how many deaths of nodes it was running (or
  /// queued) on the task fails with `node_died_error` instead of going to
  /// another node: a task that kills nodes (out of memory, a crash) is not
  /// retried onto every node. A node whose connection closed and that came
  /// back (a cut) does not count. At most `1 + max_retries` tries either
  /// way; -1: no bound of its own.
  int max_node_failures = 2;
  /// Which node runs it.
  scheduling_strategy strategy;

  /// The defaults above.
  task_options() = default;
  /// Copies, moves and destruction are out of line (task_options.cpp):
  /// every file that submits a task would otherwise build the map's and
  /// the strings' copy code again.
  task_options(const task_options&);
  /// Out of line, as the copy.
  task_options(task_options&&) noexcept;
  /// Out of line, as the copy.
  task_options& operator=(const task_options&);
  /// Out of line, as the copy.
  task_options& operator=(task_options&&) noexcept;
  /// Out of line, as the copy.
  ~task_options();
};

namespace detail {

/// The default options, one immutable object for the whole process (never
/// destroyed: tasks may outlive the statics). A task submitted without an
/// option chained refers to it instead of copying it (`task_spec::opts`):
/// the copy and its destruction were about 95 instructions a task.
const task_options& default_task_options() noexcept;

} // namespace detail

} // namespace manta
