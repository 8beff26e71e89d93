#pragma once

#include "manta/object_ref.hpp"

namespace manta {

namespace detail {

void cancel(const slot_ptr& slot);

} // namespace detail

/// Cancels the task producing `ref`. A task still waiting for arguments or
/// resources never runs; a running task's result becomes
/// `task_cancelled_error` at once, a `get` it blocks in throws
/// `task_cancelled_error`, and `manta::cancelled()` turns true so long loops
/// can stop early (C++ cannot interrupt a thread safely). Cancelling a
/// finished task or a `put` value does nothing.
template <class T>
void cancel(const object_ref<T>& ref) {
  if (ref)
    detail::cancel(ref.slot());
}

/// True inside a task that has been cancelled.
bool cancelled() noexcept;

} // namespace manta
