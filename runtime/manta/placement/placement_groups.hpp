#pragma once

#include "manta/store/object_slot.hpp"
#include "manta/placement_group.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace manta::detail {

class actor_core;

/// One placement group. Its bundles become resources of their own in the
/// node's pool (Ray's scheme): bundle i's CPUs are "CPU_group_i_<id>" and
/// the group's as a whole "CPU_group_<id>", so a task in the group leases
/// those through the pool's ordinary lease path instead of the node's free
/// CPUs, and nothing else can take them.
struct placement_record {
  /// `rescheduling`: created, but a node holding some of its bundles died
  /// and the driver's cluster client is placing those bundles again.
  enum class phase { pending, created, rescheduling, removed };

  uint64_t id = 0;
  std::string hex; ///< The id as 16 hex digits (resource names, state API).
  std::string name;
  placement_strategy strategy = placement_strategy::pack;
  std::vector<resource_map> bundles;
  /// Sealed true once reserved (`placement_group::ready`).
  slot_ptr ready;

  /// Laid out over the cluster's nodes by the driver's cluster client
  /// (placement_spread.cpp) rather than reserved by a pool job here.
  bool spread = false;

  // Guarded by the registry's lock.
  phase state = phase::pending;
  std::string node; ///< Where the bundles sit once created (one node).
  /// In a cluster: the node index and name of each bundle once created
  /// (`pending_bundle_node` and "" for a bundle being placed again).
  std::vector<uint16_t> bundle_nodes;
  std::vector<std::string> bundle_node_names;
  /// Why it was removed when not by `remove_placement_group`, or why it is
  /// rescheduling (a node died).
  std::string cause;
  /// The reservation: a pool job that leases the sum of the bundles and
  /// keeps the lease until the group is removed (its lease owner).
  std::shared_ptr<task_spec> job;
  /// The bundle resources it gives the pool once reserved.
  resource_map installed;
  std::vector<std::weak_ptr<task_spec>> tasks; ///< Submitted into the group.
  std::vector<std::weak_ptr<actor_core>> actors; ///< Created in the group.
};

using placement_ptr = std::shared_ptr<placement_record>;

/// The runtime's placement groups (`runtime::placements()`): creation (feasibility, the reservation
/// job), the rewrite of a demand onto a bundle's resources, removal (which
/// fails what runs inside), lookup by name and the state API's records.
class placement_registry {
public:
  placement_registry() = default;
  placement_registry(const placement_registry&) = delete;
  placement_registry& operator=(const placement_registry&) = delete;

  placement_ptr create(std::vector<resource_map> bundles, placement_strategy strategy,
                       std::string name);

  /// `cause`, if given, says why (a node holding bundles died) in the
  /// errors of `ready()` and of the tasks inside.
  void remove(const placement_ptr& pg, const std::string& cause = {});

  /// The driver's cluster client reserved every bundle of `pg`, bundle i
  /// on node `nodes[i]`: the group is created and `ready` sealed. False if
  /// it was removed meanwhile (the caller gives the bundles back).
  bool placed(const placement_ptr& pg, const std::vector<uint16_t>& nodes);

  /// The node holding bundles `lost` of `pg` died (`cause` says so): the
  /// group is RESCHEDULING while the cluster client places those bundles
  /// again (then `placed`); work in them waits, the other bundles keep
  /// running theirs. False if the group is not created (removed meanwhile).
  bool rescheduling(const placement_ptr& pg, const std::vector<uint32_t>& lost,
                    const std::string& cause);

  /// What `resolve` found for a task or actor submitted into a group that
  /// was still pending in a cluster (pinned to `pending_bundle_node`).
  enum class resolution { placed, pending, gone };

  /// The node that now holds the bundle `where` names (set by `apply`,
  /// with the demand `d` it rewrote), in `node`; `pending` while its group
  /// is not reserved yet or that bundle is being placed again after its
  /// node died, `gone` (with `why`) once it was removed.
  resolution resolve(const scheduling_strategy& where, const resource_demand& d, uint16_t& node,
                     std::string& why) const;

  /// For a task or actor submitted into a group laid out over the cluster
  /// (`where.group` set): pins `where` to its bundle's node now (the bundle
  /// moves when its node dies) and returns 1; 0 while the group is pending
  /// or that bundle is placed again (the task or actor waits); -1 with `why`
  /// set once the group is gone. Anything else: 1, unchanged. What the
  /// driver's cluster client and the simulator ask at each placement.
  int pin(scheduling_strategy& where, const resource_demand& d, std::string& why) const;

  /// For `hosted_bundles`: makes `names` (bundle resources of group `hex`)
  /// known here so that the pool keeps them; false if they were already
  /// (the group's owner is this process). `drop_names` forgets them.
  bool adopt_names(const std::string& hex, const resource_map& names);
  void drop_names(const std::string& hex, const resource_map& names);

  /// The live group named `name`, or null.
  placement_ptr find(const std::string& name) const;

  std::vector<placement_group_info> list() const;

  /// For a task or actor submitted with `.placement_group(pg, i)`: checks
  /// the bundle index and that the demand fits the bundle (or the group for
  /// -1), rewrites `demand` onto the bundle's resources and pins it to this
  /// node. Throws `invalid_argument_error`, `infeasible_task_error` or
  /// `placement_group_removed_error` naming `who`. Null when `opt` names no
  /// group (nothing changes then).
  placement_ptr apply(const placement_option& opt, resource_demand& demand,
                      scheduling_strategy& where, const std::string& who) const;

  /// Remembers a task or actor running in `pg`, to fail it on removal.
  void track(const placement_ptr& pg, const std::shared_ptr<task_spec>& t);
  void track(const placement_ptr& pg, const std::shared_ptr<actor_core>& a);

  /// Whether every resource `d` asks for is a bundle resource of a live
  /// group (the node's totals do not list them).
  bool covers(const resource_demand& d) const;

  /// Whether `name` is a bundle resource of a group that is gone: the
  /// pool drops it when a lease on it is given back.
  bool stale(const std::string& name) const;

  /// Called by the reservation job once its lease is granted: installs the
  /// bundle resources and seals `ready` (or, if the group was removed
  /// meanwhile, gives the lease back).
  void reserved(uint64_t id, const task_spec& job);

  /// Forgets every group (the runtime shuts down).
  void clear();

private:
  /// `create` in a driver of a cluster: checks that `strategy` can lay the
  /// bundles out on the nodes' totals and hands the group to the cluster
  /// client (placement_spread.cpp). Throws naming `who`.
  void check_cluster_fit(const placement_record& rec, const std::string& who) const;

  /// `apply` for a group laid out over the cluster: the node that runs a
  /// task or actor in bundle `bundle` (-1: the first node whose bundles
  /// hold `want`), `pending_bundle_node` while the group is not reserved
  /// yet, or throws naming `who`.
  uint16_t node_for(const placement_record& rec, int bundle, const resource_map& want,
                    const std::string& who) const;
  uint16_t node_locked(const placement_record& rec, int bundle, const resource_map& want,
                       const std::string& who) const; ///< `node_for` under `mtx_`.

  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, placement_ptr> live_;
  std::unordered_map<std::string, placement_ptr> by_name_;
  /// Guards the two sets below apart from the rest: the pool asks `stale`
  /// under its own lock, while the registry calls the pool under `mtx_`.
  mutable std::mutex names_mtx_;
  /// The bundle resource names of the live groups.
  std::unordered_set<std::string> resource_names_;
  /// The ids (hex) of the live groups.
  std::unordered_set<std::string> live_hex_;
  /// The most recent removed groups, for the state API.
  std::deque<placement_ptr> removed_;
};

/// The node a task or actor is pinned to while its group, laid out over a
/// cluster, is not reserved yet (and the node of a bundle being placed
/// again): the driver's cluster client holds it back until
/// `placement_registry::resolve` names the bundle's node.
inline constexpr uint16_t pending_bundle_node = 0xFFFF;

/// "placement group 'name' (<hex>)", or "placement group <hex>".
std::string group_label(const placement_record& r);

/// Hands a new group to the driver's cluster client, which reserves its
/// bundles on the cluster's nodes (placement_spread.cpp).
void hand_to_cluster(const placement_ptr& pg);

/// Tells the cluster client that `pg` was removed: it gives every node's
/// bundles back.
void release_in_cluster(const placement_ptr& pg);

/// "CPU_group_0_<hex>" (bundle 0) or "CPU_group_<hex>" (bundle -1: any).
std::string bundle_resource(const std::string& resource, int bundle, const std::string& hex);

/// `placement_registry::covers`, for the submission checks.
bool in_placement_group(const resource_demand& d);

/// `placement_registry::stale`, with a quick test first (the pool calls it
/// for every custom resource a lease gives back, and drops a stale one).
bool stale_bundle(const std::string& name);

} // namespace manta::detail
