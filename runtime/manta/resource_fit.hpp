#pragma once

// Whether asked-for amounts fit in what a node has: the one comparison that
// a task's custom demand (resources.cpp) and a placement group's bundle
// (placement/bundle_layout.cpp) both make.

#include "manta/resources.hpp"

namespace manta::detail {

/// Whether `room` holds every positive amount of `want`, by name, with a
/// tiny epsilon that absorbs the rounding of fractional amounts added back.
/// Amounts of zero or less ask for nothing, so a name `room` lacks does not
/// refuse them.
bool amounts_fit(const resource_map& want, const resource_map& room);

} // namespace manta::detail
