#pragma once

#include "manta/actor_options.hpp"

#include <string>

/// The job's defaults for actors, set by `init` (`init_options::ns` and
/// `init_options::default_actor_lifetime`): the namespace that named actors
/// and `get_actor` use when given none, and the lifetime of named actors
/// created without one. Kept apart from the runtime so reading them costs
/// no include of the runtime's header.
namespace manta::detail {

/// Sets the defaults (`init`); throws `invalid_argument_error` for a
/// blank namespace.
void set_actor_defaults(const std::string& ns, actor_lifetime lifetime);

/// Back to "default" and non-detached (`shutdown`).
void reset_actor_defaults() noexcept;

/// The job's namespace: "default" unless `init` was given another.
const std::string& job_namespace() noexcept;

/// The lifetime of named actors created without `lifetime(...)`.
actor_lifetime default_actor_lifetime() noexcept;

/// Fills what `opts` left to the job: its namespace and (for a named actor)
/// its lifetime.
void apply_actor_defaults(actor_options& opts);

} // namespace manta::detail
