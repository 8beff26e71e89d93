#pragma once

#include "manta/object_id.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace manta {

/// Explains in a few lines what an object (or the task producing it) is
/// waiting for: the chain of unfinished arguments down to what blocks it,
/// the resources it asks for next to what the node has free, the actor it
/// is queued in and that actor's state, or how it ended. What `manta why`
/// prints. Needs task events on for task states and times.
std::string why(object_id id);

/// Parses the 16 hex digits `to_string(object_id)` prints.
std::optional<object_id> parse_object_id(std::string_view text) noexcept;

} // namespace manta
