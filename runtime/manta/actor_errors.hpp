#pragma once

#include "manta/errors.hpp"

namespace manta {

/// Thrown by an actor method to make its actor die as if its process had
/// crashed: unlike any other exception (which only fails that call, as in
/// Ray), the actor restarts if `max_restarts` allows, and the call is
/// re-run on the new instance if `max_task_retries` allows.
class actor_crash : public error {
public:
  using error::error;
};

/// Raised by `actor<T>().name(n).remote(...)` when `n` is taken in that
/// namespace by a live actor.
class actor_exists_error : public error {
public:
  using error::error;
};

/// Raised by `get_actor` when no live actor has that name, or when it is
/// of another class.
class actor_not_found_error : public error {
public:
  using error::error;
};

/// Raised by `.remote()` on an actor handle when the actor already has
/// `max_pending_calls(n)` calls submitted from this process and not yet
/// finished (Ray's `PendingCallsLimitExceeded`): back pressure, so a fast
/// caller cannot queue without bound. Wait for results, then submit again.
class pending_calls_limit_error : public error {
public:
  using error::error;
};

namespace detail {

/// Thrown by `exit_actor()`. Deliberately not a `std::exception`, so that a
/// `catch (const std::exception&)` in user code does not swallow it.
struct actor_exit_request {};

} // namespace detail

} // namespace manta
