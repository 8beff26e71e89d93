#pragma once

#include <boost/json/array.hpp>

#include <cstddef>

namespace manta::detail {

/// The Chrome trace events of `manta::timeline(newest)` (timeline.cpp),
/// without the document around them: the node's answer to the head
/// (node_state.cpp) carries them for the head's merged trace.
boost::json::array timeline_events(size_t newest, const boost::json::storage_ptr& sp = {});

} // namespace manta::detail
