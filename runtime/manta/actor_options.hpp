#pragma once

#include "manta/resources.hpp"
#include "manta/task_options.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace manta {

/// How long an actor lives (Ray's `lifetime`): `non_detached` until its
/// handles are gone, `detached` until `kill` or `shutdown`.
enum class actor_lifetime {
  non_detached, ///< Exits once its handles are gone (the default).
  detached      ///< Lives until `kill` or `shutdown`; needs a name.
};

/// A named set of an actor's methods with its own limit of calls running
/// at once (Ray's concurrency groups): `actor<T>().concurrency_groups(
/// {{"io", 2}, {"compute", 4}})`. A full group does not hold back calls of
/// the other groups.
struct concurrency_group {
  std::string name;        ///< Not blank, not "default" (the group of the rest).
  int max_concurrency = 1; ///< Calls of the group that may run at once (1 or more).
};

/// Options of one actor, set by chaining on `actor<T>()`.
struct actor_options {
  /// Name under which `get_actor` finds the actor; empty: anonymous.
  std::string name;
  /// Namespace of the name; empty: the job's namespace
  /// (`init_options::ns`, "default" unless set).
  std::string ns;
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
  /// Whether `detached` was chosen for this actor; if not, a named actor
  /// takes `init_options::default_actor_lifetime`.
  bool lifetime_given = false;
  /// Calls submitted and not yet finished beyond which `.remote()` on the
  /// actor's handles throws `pending_calls_limit_error` (Ray's
  /// `max_pending_calls`); -1 or 0: no limit.
  int max_pending_calls = -1;
  /// With a name: return the live actor of that name (in the namespace)
  /// instead of failing with `actor_exists_error`.
  bool get_if_exists = false;
  /// Named groups with their own limits; the rest of the methods run in the
  /// default group, limited by `max_concurrency`.
  std::vector<concurrency_group> concurrency_groups;
  /// The group of a method (its registry name) unless a call picks another.
  std::vector<std::pair<const std::string*, std::string>> method_groups;
  /// Where in a cluster the actor lives: by default on the driver's node
  /// if it fits there, else on a worker node that offers its resources.
  scheduling_strategy strategy;
};

} // namespace manta
