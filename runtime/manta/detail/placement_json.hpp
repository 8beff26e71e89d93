#pragma once

#include "manta/placement_group.hpp"

#include <string>
#include <vector>

namespace manta::detail::json {

/// The groups as the dashboard's /api/placement_groups answers them: one
/// object per group with its bundles, each with its resources and node.
std::string to_json(const std::vector<placement_group_info>& groups);

} // namespace manta::detail::json
