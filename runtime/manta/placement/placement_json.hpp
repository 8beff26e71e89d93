#pragma once

#include "manta/observe/json.hpp"
#include "manta/placement_group.hpp"

namespace manta {

/// A group as the dashboard's /api/placement_groups answers it (json.cpp):
/// its fields, then its bundles, each with its resources and node.
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v,
                const placement_group_info& g);

} // namespace manta
