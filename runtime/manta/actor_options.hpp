#pragma once

#include "manta/resources.hpp"
#include "manta/task_options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace manta {

/// Options of one actor, set by chaining on `actor<T>()`.
struct actor_options {
  /// Name under which `get_actor` finds the actor; empty: anonymous.
  std::string name;
  /// Namespace of the name.
  std::string ns = "default";
  /// Resources the actor holds for its whole life. CPUs default to 0, as in
  /// Ray: an idle actor should not block tasks from running.
  detail::resource_demand resources{0.0, {}};
  /// How often the actor is rebuilt after it died (-1: without limit).
  int max_restarts = 0;
  /// How often a call that was running when the actor died is re-run on the
  /// restarted actor (-1: without limit).
  int max_task_retries = 0;
  /// Whether a call whose method throws is re-run (on the same instance, up
  /// to `max_task_retries` times), as Ray's `retry_exceptions` for actor
  /// tasks; with `retry_exception_types`, only exceptions of those types.
  bool retry_exceptions = false;
  std::vector<std::string> retry_exception_types; ///< Keys, as in task_options.
  /// Calls that may run at once; default 1 (1000 for async actors).
  std::optional<int> max_concurrency;
  /// Whether the actor outlives its handles (lives until `kill` or
  /// `shutdown`); requires a name so it can be found again.
  bool detached = false;
  /// Where in a cluster the actor lives: by default on the driver's node
  /// if it fits there, else on a worker node that offers its resources.
  scheduling_strategy strategy;
};

} // namespace manta
