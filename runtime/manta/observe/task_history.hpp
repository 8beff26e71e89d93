#pragma once

#include "manta/state.hpp"

#include <cstddef>
#include <vector>

/// Bounded reads of the task history, for the dashboard: a page that shows
/// the newest 500 tasks must not copy and convert the 100,000 records a
/// node may keep (that took ~130 ms a request; docs/observability.md, "The
/// dashboard's cost").
namespace manta::detail {

namespace task_events {

/// The newest `n` finished records whose state is one of `states` (any when
/// empty), oldest first. Copies only those records under the history's lock.
std::vector<task_info> newest_finished(size_t n, const std::vector<task_state>& states);

} // namespace task_events

/// `list_tasks(filter)` cut to its newest `n` records (the finished ones
/// that ended last, then the live ones), reading only those when the filter
/// is on `state` alone (or empty); other filters read the whole history.
std::vector<task_info> list_newest_tasks(const list_filter& filter, size_t n);

} // namespace manta::detail
