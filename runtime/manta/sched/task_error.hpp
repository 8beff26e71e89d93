#pragma once

#include "manta/core/demangle.hpp"

#include <exception>
#include <string>

namespace manta::detail {

/// Turns what a task threw into the error its `get` raises: Manta's own
/// errors (a nested task's `task_error`, a cancellation) pass through as they
/// are; any other exception becomes a `task_error` naming its dynamic type,
/// its message, the task and this node.
std::exception_ptr to_task_error(const std::exception_ptr& error, const std::string& task_name);

/// True for errors the runtime raised to stop a task (cancellation), which
/// are never retried.
bool is_runtime_error(const std::exception_ptr& error);

} // namespace manta::detail
