#pragma once

#include "actors/cluster_registry.hpp"
#include "manta/dashboard/dashboard_routes.hpp"
#include "manta/cluster/node_state.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace manta::actors {

/// Asks the registry for every member's state (cluster_registry.hpp); null
/// if the registry did not answer.
using state_collector = std::function<cluster_state_ptr(const detail::state_query&)>;

/// Asks the registry for its job table as JSON (job_table::to_json); empty
/// if the registry did not answer.
using jobs_reader = std::function<std::string()>;

/// The head's dashboard: the same page and JSON endpoints as a node's
/// (dashboard_routes.hpp), answered for the whole cluster. Each request
/// asks every member for what it needs (one `state_collector` call, bounded
/// by `state_timeout`) and merges the answers: /api/tasks, /api/actors and
/// /api/objects concatenate the members' records (each names its node),
/// /api/nodes lists the head and every member, live or dead, /api/status
/// adds up the counts, /api/memory the object stores, /api/timeline has one
/// process per node, /api/series has every live member's samples and their
/// sums. A member that does not answer shows as NOT_RESPONDING,
/// one that left as DEAD. /api/log_lines and /api/task are asked of every
/// member (its own answer, `state_query::forward`) and merged: every
/// member's lines, the task from the member that ran it. /api/why and
/// /api/logs are per node (404 here; /api/task carries `why`).
/// /metrics is every member's metrics labelled with its node, and
/// /api/prometheus_sd every member's own metrics address (head_metrics.hpp).
/// /api/jobs is the registry's job table (`read_jobs`), as `manta job list`
/// reads it.
http_reply head_route(std::string_view target, const std::string& asset_dir,
                      const std::string& head_address, const state_collector& collect,
                      const jobs_reader& read_jobs);

} // namespace manta::actors
