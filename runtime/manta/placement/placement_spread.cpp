// The placement registry's side of groups laid out over a cluster's nodes
// (docs/cluster.md, "Placement groups across nodes"): the feasibility
// check at creation, the node a task or actor in a bundle runs on, and the
// hand-over to the driver's cluster client, which reserves the bundles
// (actors/cluster_bundles.cpp).

#include "actors/atoms.hpp"
#include "manta/placement/bundle_layout.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/placement/placement_groups.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

namespace manta::detail {

namespace {

std::string node_label(uint16_t index) {
  return "node-" + std::to_string(index);
}

std::string map_text(const resource_map& m) {
  resource_demand d{0.0, {}};
  d.assign(m);
  return d.to_string();
}

/// Where `rec`'s bundles sit, by index and by name ("" for one being
/// placed again); the group's `node` is the first bundle's.
void set_nodes(placement_record& rec, const std::vector<uint16_t>& nodes) {
  rec.bundle_nodes = nodes;
  rec.bundle_node_names.clear();
  for (auto n : nodes)
    rec.bundle_node_names.push_back(n == pending_bundle_node ? std::string{} : node_label(n));
  rec.node = rec.bundle_node_names.empty() ? std::string{} : rec.bundle_node_names.front();
}

} // namespace

void placement_registry::check_cluster_fit(const placement_record& rec,
                                           const std::string& who) const {
  auto& rt = runtime::require("create_placement_group");
  std::vector<layout_node> nodes;
  if (sim_engaged()) {
    nodes = sim_group_nodes();
  } else {
    auto own = rt.total_custom();
    own[cpu_resource] = rt.total_cpus();
    nodes.push_back({rt.node_index(), own});
    for (auto& w : rt.cluster_link()->workers()) {
      auto room = w.custom;
      room[cpu_resource] = w.cpus;
      nodes.push_back({w.index, std::move(room)});
    }
  }
  if (lay_out(rec.bundles, rec.strategy, nodes))
    return;
  std::string have;
  for (auto& n : nodes)
    have += (have.empty() ? "" : ", ") + node_label(n.index) + " " + map_text(n.room);
  std::string bundles;
  for (auto& b : rec.bundles)
    bundles += (bundles.empty() ? "" : ", ") + map_text(b);
  std::string hint;
  switch (rec.strategy) {
    case placement_strategy::strict_spread:
      hint = "STRICT_SPREAD puts each bundle on a node of its own; use SPREAD, fewer bundles, "
             "or start more nodes";
      break;
    case placement_strategy::strict_pack:
      hint = "STRICT_PACK puts every bundle on one node; use PACK, smaller bundles, or a "
             "bigger node";
      break;
    default:
      hint = "use fewer or smaller bundles, or start nodes with more (--num-cpus, --resources)";
  }
  throw placement_group_infeasible_error(
    who + " needs " + std::to_string(rec.bundles.size()) + " bundles (" + bundles + ", "
    + std::string{to_string(rec.strategy)} + ") but the cluster's live nodes have in total " + have
    + ", so it can never be reserved; " + hint);
}

uint16_t placement_registry::node_for(const placement_record& rec, int bundle,
                                      const resource_map& want, const std::string& who) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (rec.state != placement_record::phase::created
      && rec.state != placement_record::phase::rescheduling)
    return pending_bundle_node; // the cluster client holds it until then (`resolve`)
  return node_locked(rec, bundle, want, who);
}

uint16_t placement_registry::node_locked(const placement_record& rec, int bundle,
                                         const resource_map& want, const std::string& who) const {
  if (bundle >= 0)
    return rec.bundle_nodes.at(static_cast<size_t>(bundle)); // pending while placed again
  // Any bundle: the first node (in bundle order) whose bundles hold it,
  // among the bundles placed now.
  std::map<uint16_t, resource_map> share;
  for (size_t b = 0; b < rec.bundles.size(); ++b)
    for (auto& [res, amount] : rec.bundles[b])
      share[rec.bundle_nodes[b]][res] += amount;
  for (auto node : rec.bundle_nodes)
    if (node != pending_bundle_node && bundle_fits(want, share[node]))
      return node;
  if (rec.state == placement_record::phase::rescheduling)
    return pending_bundle_node; // the bundles being placed again may hold it
  throw infeasible_task_error(who + " needs " + map_text(want) + " but no node of "
                              + group_label(rec)
                              + " holds that much of it (its bundles are on several nodes); "
                                "ask for less or name a bundle");
}

placement_registry::resolution placement_registry::resolve(const scheduling_strategy& where,
                                                           const resource_demand& d, uint16_t& node,
                                                           std::string& why) const {
  auto id = where.group;
  // What it asks for, from the group-wide names `apply` wrote
  // ("<res>_group_<hex>"; bundle -1 picks a node that holds it).
  auto hex = to_string(object_id{id});
  auto suffix = "_group_" + hex;
  resource_map want;
  for (auto& [name, amount] : d.custom)
    if (name.size() > suffix.size() && name.ends_with(suffix))
      want[name.substr(0, name.size() - suffix.size())] = amount;
  auto bundle = where.bundle;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = live_.find(id);
  if (i == live_.end()) {
    why = "its placement group " + to_string(object_id{id}) + " was removed";
    return resolution::gone;
  }
  if (i->second->state == placement_record::phase::pending)
    return resolution::pending;
  try {
    node = node_locked(*i->second, bundle, want, "a task or actor");
  } catch (const std::exception& e) {
    why = e.what();
    return resolution::gone;
  }
  return node == pending_bundle_node ? resolution::pending : resolution::placed;
}

int placement_registry::pin(scheduling_strategy& where, const resource_demand& d,
                            std::string& why) const {
  if (where.kind != scheduling_strategy::node_affinity || where.group == 0)
    return 1; // not in a group laid out over the cluster
  uint16_t node = 0;
  switch (resolve(where, d, node, why)) {
    case resolution::pending:
      return 0;
    case resolution::gone:
      return -1;
    case resolution::placed:
      break;
  }
  where.node = node;
  return 1;
}

bool placement_registry::placed(const placement_ptr& pg, const std::vector<uint16_t>& nodes) {
  bool first = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (pg->state != placement_record::phase::pending
        && pg->state != placement_record::phase::rescheduling)
      return false;
    first = pg->state == placement_record::phase::pending;
    pg->state = placement_record::phase::created;
    pg->cause.clear();
    set_nodes(*pg, nodes);
  }
  static const auto yes = std::make_shared<const bool>(true);
  if (first) // rescheduled bundles: `ready` was sealed at the first reservation
    pg->ready->seal_value(yes, typeid(bool), sizeof(bool));
  return true;
}

bool placement_registry::rescheduling(const placement_ptr& pg, const std::vector<uint32_t>& lost,
                                      const std::string& cause) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (pg->state != placement_record::phase::created
      && pg->state != placement_record::phase::rescheduling)
    return false;
  pg->state = placement_record::phase::rescheduling;
  pg->cause = cause;
  auto nodes = pg->bundle_nodes;
  for (auto b : lost)
    nodes.at(b) = pending_bundle_node;
  set_nodes(*pg, nodes);
  return true;
}

bool placement_registry::adopt_names(const std::string& hex, const resource_map& names) {
  std::lock_guard<std::mutex> guard{names_mtx_};
  if (!live_hex_.insert(hex).second)
    return false;
  for (auto& [name, amount] : names)
    resource_names_.insert(name);
  return true;
}

void placement_registry::drop_names(const std::string& hex, const resource_map& names) {
  std::lock_guard<std::mutex> guard{names_mtx_};
  live_hex_.erase(hex);
  for (auto& [name, amount] : names)
    resource_names_.erase(name);
}

void hand_to_cluster(const placement_ptr& pg) {
  if (sim_engaged())
    sim_place_group(pg); // reserved on virtual nodes, by the same steps
  else
    caf::anon_send(cluster::client(), actors::group_place_atom::value, pg);
}

void release_in_cluster(const placement_ptr& pg) {
  if (sim_engaged())
    sim_remove_group(pg);
  else if (auto client = cluster::client())
    caf::anon_send(client, actors::group_remove_atom::value, pg);
}

} // namespace manta::detail
