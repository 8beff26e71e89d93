#pragma once

#include "manta/placement_group.hpp"
#include "manta/resources.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace manta::detail {

/// A node that may hold bundles, as the layout sees it: what it has room
/// for (CPUs under "CPU"). Earlier nodes in a list are preferred.
struct layout_node {
  uint16_t index = 0;
  resource_map room;
};

/// Whether `room` holds every amount `bundle` asks for.
bool bundle_fits(const resource_map& bundle, const resource_map& room);

/// Where each bundle of a placement group goes (the node index of bundle
/// i at position i), laid out by `strategy` over `nodes`, or nullopt if
/// the strategy cannot place them there:
/// - STRICT_PACK: every bundle on the first node that holds their sum;
/// - PACK: like STRICT_PACK if a node can, else first fit, biggest bundle
///   first, filling the earlier nodes first (as few nodes as it finds);
/// - STRICT_SPREAD: every bundle on a node of its own (a matching of
///   bundles to nodes, so a fit is found whenever one exists);
/// - SPREAD: like STRICT_SPREAD if possible, else each bundle, biggest
///   first, on the fitting node holding the fewest bundles of the group.
/// The driver calls it twice: with the nodes' totals at creation (a group
/// that cannot be laid out then can never be reserved), and with what is
/// free at each try to reserve it. PACK and SPREAD fall back to greedy
/// first fit, so a layout that only an exhaustive search would find is
/// missed (docs/cluster.md, "Placement groups across nodes").
std::optional<std::vector<uint16_t>> lay_out(const std::vector<resource_map>& bundles,
                                             placement_strategy strategy,
                                             const std::vector<layout_node>& nodes);

} // namespace manta::detail
