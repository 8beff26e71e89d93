#pragma once

#include <cstddef>
#include <exception>

namespace manta::detail {

/// How many generator task ids a caller's node keeps items for before
/// their stream is enrolled (the early buffer) and remembers as gone
/// (item_stream.cpp): 1,024, or the value of MANTA_STREAM_ID_MEMORY when
/// this process first asks (a test makes the limits reachable with a few
/// streams).
size_t stream_id_memory() noexcept;

/// The error a stream enrolled after the early buffer dropped its first
/// items hands out in their place (object_lost_error).
std::exception_ptr early_items_dropped() noexcept;

} // namespace manta::detail
