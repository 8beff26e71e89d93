#pragma once

#include "manta/state.hpp"

#include <exception>

namespace manta::detail {

class task_spec;

/// The one way a task ends without a value, whatever ended it: it failed
/// for good, was cancelled, was removed with its placement group, lost its
/// node or argument, or never ran. Seals the task's result with `error`
/// and, only if that seal won (the first seal wins: a task and a cancel
/// race to it), records the end as `state` in the task events; a reader
/// woken by the seal in between sees the task as live with the slot's
/// state and error (`task_events::live_tasks`). Returns whether it sealed.
/// A task that did run reaches this through `execute_task`, which counts
/// its retries first.
bool end_task(task_spec& t, task_state state, std::exception_ptr error);

/// As above, the state following from the error: a task_cancelled_error
/// ends it as cancelled, any other error as failed.
bool end_task(task_spec& t, std::exception_ptr error);

} // namespace manta::detail
