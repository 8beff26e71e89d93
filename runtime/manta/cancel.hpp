#pragma once

#include "manta/object_ref.hpp"

namespace manta {

/// How `cancel` goes about it (Ray's `ray.cancel(ref, force, recursive)`):
/// `manta::cancel(ref, {.recursive = false})`.
struct cancel_options {
  /// Also end a task that never checks `manta::cancelled()`, where that
  /// harms no other work: one not started yet is dropped either way. A
  /// running task shares its node's process with other tasks and actors
  /// and C++ cannot stop a thread, so a forced cancel of a running task
  /// throws `invalid_argument_error` saying so (and cancels nothing); so
  /// does a forced cancel of an actor call, as in Ray (`kill` ends the
  /// actor).
  bool force = false;
  /// Also cancel the tasks and actor calls the task submitted while it
  /// ran, and theirs (Ray's default).
  bool recursive = true;
};

namespace detail {

void cancel(const slot_ptr& slot, const cancel_options& opts = {});

} // namespace detail

/// Cancels the task or actor call producing `ref`. A task still waiting for
/// arguments or resources, or a call still queued in its actor, never runs;
/// a running one's result becomes `task_cancelled_error` at once, a `get`
/// it blocks in throws `task_cancelled_error`, and `manta::cancelled()`
/// turns true so long loops can stop early (C++ cannot interrupt a thread
/// safely); a running async method stops at its next `co_await`. In a
/// cluster the node the task or call was sent to is told as well. Unless
/// `opts.recursive` is false, the tasks and calls it submitted are
/// cancelled too. Cancelling a finished task or a `put` value does nothing.
template <class T>
void cancel(const object_ref<T>& ref, const cancel_options& opts = {}) {
  if (ref)
    detail::cancel(ref.slot(), opts);
}

/// True inside a task or actor method that has been cancelled.
bool cancelled() noexcept;

} // namespace manta
