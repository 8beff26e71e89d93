#pragma once

#include "manta/resources.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::detail {

class placement_registry;
class task_spec;

/// Bundle `first` of a group and what it reserves (CPUs under "CPU").
using indexed_bundle = std::pair<uint32_t, resource_map>;

/// The bundles of placement groups that an owner (a driver, this process
/// or another) reserves on this node, in two phases (docs/cluster.md,
/// "Placement groups across nodes"):
/// - `prepare` takes the bundles' sum from the node's pool if it is free
///   now (never queues: the owner asks every node of its layout and gives
///   up on all of them if one says no, so a group is never half reserved
///   and two groups cannot each hold part of what the other waits for);
/// - `commit` makes the bundles resources of their own in the pool
///   ("CPU_group_<i>_<hex>" and "CPU_group_<hex>", the names the owner
///   rewrites a task's demand onto), which only tasks and actors of the
///   group lease;
/// - `release` gives everything back; so does `release_owner` for every
///   group of an owner that is gone.
/// A part of the runtime (`runtime::hosted()`).
class hosted_bundles {
public:
  /// `placements`: the registry of the same runtime, which learns the
  /// bundle names committed here (and outlives this).
  explicit hosted_bundles(placement_registry& placements) : placements_(placements) {}

  /// Empty on success, else why the bundles cannot be taken now.
  std::string prepare(uint64_t group, const std::vector<indexed_bundle>& bundles, uint16_t owner);

  /// False if the group was not prepared here (released meanwhile).
  bool commit(uint64_t group);

  void release(uint64_t group);

  /// Releases every group `owner` reserved here (its node died or left).
  void release_owner(uint16_t owner);

  /// How many groups hold bundles here (tests, state).
  size_t size() const;

  /// Forgets every group without touching a pool (the runtime shuts down:
  /// its pool goes with it).
  void clear();

  /// The bundle resource names `bundles` of group `hex` install on a node
  /// (each bundle's own and the group-wide one, summed over them).
  static resource_map names_for(const std::string& hex, const std::vector<indexed_bundle>& bundles);

private:
  struct entry {
    std::string hex;
    uint16_t owner = 0;
    std::vector<indexed_bundle> bundles;
    /// The pool job whose lease holds the bundles' sum (`keeps_lease`).
    std::shared_ptr<task_spec> job;
    resource_map installed; ///< Once committed.
    bool committed = false;
    /// This node's registry learnt the names at commit (on the owner's
    /// own node it knew them from the start, and keeps them until removal).
    bool adopted = false;
  };

  void give_back(entry& e);

  placement_registry& placements_;
  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, entry> groups_;
};

} // namespace manta::detail
