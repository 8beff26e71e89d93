#pragma once

#include <cstddef>
#include <string>

namespace manta::detail {

/// The Chrome trace events of `manta::timeline(newest)` (timeline.cpp),
/// comma-separated, without the document around them: the node's answer to
/// the head (node_state.cpp) carries them for the head's merged trace.
/// Each event is a Boost.JSON value, serialized.
std::string timeline_events(size_t newest);

/// The trace document of `events` (one node's, or every node's joined by
/// commas): `{"displayTimeUnit":"ms","traceEvents":[events]}`.
std::string trace_document(const std::string& events);

} // namespace manta::detail
