#pragma once

#include "actors/cluster_registry.hpp"

#include <string>
#include <string_view>
#include <vector>

/// The head's Prometheus endpoints (docs/observability.md, "Cluster
/// metrics"): one scrape target for the whole cluster, or the list of every
/// member's own target. Both are built from the members' answers to a state
/// query (cluster_registry.hpp), so they see the members the dashboard sees.
namespace manta::actors {

/// The label value that names a member in the aggregate: "node-N" (its
/// index, stable while it lives, unlike its pid) or "head".
std::string metrics_node_label(const member_state& m);

/// Every live member's /metrics text (its `metrics_text`) merged into one
/// exposition: each family's HELP and TYPE once, its samples from every
/// member, each with the label node="node-N" (a sample's own `node` label
/// becomes `exported_node`, as Prometheus does with clashing target
/// labels). First the head's own process metrics (node="head") and
/// `manta_node_up{node,role}` (1 for a member that answered, 0 for one
/// that did not or left). A member whose family has another type than the
/// one seen first loses that family's samples (the text stays valid).
std::string cluster_metrics(const std::vector<member_state>& members);

/// Prometheus' HTTP service discovery (`http_sd_configs`): a JSON array
/// with one target group per live member that serves its own dashboard,
/// `{"targets":["HOST:PORT"],"labels":{"node":"node-N","role":"worker"}}`.
std::string prometheus_sd(const std::vector<member_state>& members);

/// Adds node="`node`" to one sample line of the text format, renaming a
/// `node` label it has to `exported_node`. Empty if the line is malformed.
std::string with_node_label(std::string_view line, std::string_view node);

} // namespace manta::actors
