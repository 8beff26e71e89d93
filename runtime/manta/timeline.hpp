#pragma once

#include <cstddef>
#include <string>

namespace manta {

/// The node's recent tasks and actor calls in Chrome's trace event format
/// (JSON), which Perfetto (ui.perfetto.dev) and chrome://tracing open: one
/// row per executor thread, one slice per run with its name, state and ids,
/// running ones up to now. Async actor calls that suspended are drawn as
/// async spans (they share their thread with other work while they wait).
/// Covers what `list_tasks()` covers: the live tasks and the finished ones
/// the history keeps (`init_options::task_history`).
std::string timeline();

/// `timeline()` with only the `newest` runs that started last (all of them
/// when 0): what the dashboard draws, bounded however many the history
/// keeps.
std::string timeline(size_t newest);

/// Writes `timeline()` to `path`; throws `error` if it cannot.
void timeline(const std::string& path);

} // namespace manta
