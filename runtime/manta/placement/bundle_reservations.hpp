#pragma once

#include "manta/placement/bundle_layout.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/placement/placement_groups.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace manta::detail {

/// The owner's side of reserving placement groups across nodes
/// (docs/cluster.md, "Placement groups across nodes"): where each bundle
/// goes (`lay_out` over what the nodes have free), the two phases on every
/// node of the layout (prepare, then commit or release on all of them),
/// what a refusal, a silent or dead node or a layout with no room leads
/// to (a retry), and the bundles of a node that died placed again (the
/// registry's RESCHEDULING). One copy of these steps serves the driver's
/// cluster client (actors/cluster_bundles.cpp: messages to node managers,
/// CAF timers) and the simulator (sim/sim_groups.cpp: events on virtual
/// nodes, virtual time), each through its `port`. Not thread-safe: the
/// cluster client's actor or the simulation's thread owns it.
class bundle_reservations {
public:
  /// What the steps need from where they run. Every call comes from the
  /// owner's thread; a port may answer `prepare` at once (from inside the
  /// call) or later.
  class port {
  public:
    virtual ~port() = default;
    /// The registry the groups are recorded in (`placed`, `rescheduling`).
    virtual placement_registry& registry() = 0;
    /// What each node the owner can reach has free now, preferred first.
    virtual std::vector<layout_node> rooms() = 0;
    /// Phase one: asks `node` to take `bundles` of `g` if they are free
    /// now. Exactly one `answered(g.id, attempt, node, why)` must follow
    /// (`why` empty: taken), also when the node is silent or dead.
    virtual void prepare(const placement_ptr& g, uint32_t attempt, uint16_t node,
                         std::vector<indexed_bundle> bundles) = 0;
    /// Phase two: `bundles` of `g` become resources of their own on `node`.
    virtual void commit(const placement_ptr& g, uint16_t node,
                        const std::vector<indexed_bundle>& bundles) = 0;
    /// `node` gives back what it holds of `g` (`bundles` there, as the
    /// owner laid them out); a node that holds nothing ignores it.
    virtual void release(const placement_ptr& g, uint16_t node,
                         const std::vector<indexed_bundle>& bundles) = 0;
    /// `node` took bundles of group `id` for a try nobody waits for any
    /// more: it gives them back.
    virtual void release_late(uint64_t id, uint16_t node) = 0;
    /// Why `node` no longer holds what it took for `g`'s try in flight
    /// (empty: it holds it). The simulator sees a node's death at once;
    /// the driver commits and learns it later.
    virtual std::string lost_since_prepare(const placement_ptr& g, uint16_t node);
    /// Calls `retry()` after `delay`.
    virtual void retry_after(std::chrono::milliseconds delay) = 0;
    /// `g` is reserved (again): work submitted into it may go now.
    virtual void reserved(const placement_ptr& g) = 0;
    /// `g` is gone (removed) and what it held given back: what waited
    /// behind it may go.
    virtual void dropped(const placement_ptr& g) = 0;
  };

  /// What a try that found no room does: tries again every 100 ms (the
  /// driver: a node may join, other drivers' work end), or waits for
  /// `resources_freed` (the simulator sees every release, and a timer that
  /// runs for nothing would hide a deadlock from a driver waiting for it).
  enum class when_no_room { poll, wait_for_free };

  /// How soon a group that could not be reserved is tried again.
  static constexpr std::chrono::milliseconds retry_delay{100};

  bundle_reservations(port& p, when_no_room policy) : port_(p), policy_(policy) {}
  bundle_reservations(const bundle_reservations&) = delete;
  bundle_reservations& operator=(const bundle_reservations&) = delete;

  /// Reserves the bundles of a new group.
  void place(const placement_ptr& pg);
  /// The group was removed: every node gives its bundles back (once the
  /// try in flight, if any, has every answer).
  void remove(const placement_ptr& pg);
  /// A node's answer to `prepare` (`why` empty: it took the bundles).
  void answered(uint64_t id, uint32_t attempt, uint16_t node, const std::string& why);
  /// The retry timer: tries the groups still pending, and the lost bundles
  /// of rescheduling ones.
  void retry();
  /// Node `node` is gone: the reserved groups with bundles there are
  /// RESCHEDULING and those bundles placed again (`why` ends the cause).
  void node_lost(uint16_t node, const std::string& why);
  /// Resources came free (a run ended, a node joined, a group was given
  /// back): with `wait_for_free`, a group that found no room is tried
  /// again after `retry_delay` (inline: the simulator calls it at every
  /// run's end).
  void resources_freed() {
    if (waiting_for_room_) {
      waiting_for_room_ = false;
      plan_retry();
    }
  }

  /// Whether `id`'s try `attempt` still waits for answers (a node that
  /// gets a request of an older try may refuse it).
  bool waits_for(uint64_t id, uint32_t attempt) const;
  /// `room` loses, bundle by bundle, what the reserved groups hold on
  /// `node` (a driver's view of a worker, less its own groups there).
  void take_reserved(uint16_t node, resource_map& room) const;
  size_t size() const noexcept { return groups_.size(); }

private:
  struct group {
    placement_ptr rec;
    /// Each bundle's node: of the try in flight, or once reserved
    /// (`pending_bundle_node` while it has none).
    std::vector<uint16_t> nodes;
    /// The try in flight: its number, the nodes it asked, the answers it
    /// waits for and the first refusal.
    uint32_t attempt = 0;
    std::vector<uint16_t> asked;
    size_t missing = 0;
    std::string refused;
    /// Bundles of a reserved group whose node died, still to place again
    /// (on nodes that hold none of the group's other bundles), and those
    /// the try in flight places.
    std::vector<uint32_t> lost, placing;
    bool reserved = false;
    bool removed = false;
  };

  static std::vector<indexed_bundle> bundles_on(const group& g, uint16_t node);
  void try_group(uint64_t id);
  bool lay_out_lost(group& g);
  void count_answer(uint64_t id);
  void finish_try(uint64_t id);
  /// `nodes` give `g`'s bundles back.
  void give_back(group& g, const std::vector<uint16_t>& nodes);
  /// `nodes` give `id`'s bundles back and the group goes.
  void drop(uint64_t id, const std::vector<uint16_t>& nodes);
  void plan_retry();
  void no_room();

  port& port_;
  when_no_room policy_;
  /// By id: retries go in creation order.
  std::map<uint64_t, group> groups_;
  bool retry_planned_ = false;
  /// A try found no room (`wait_for_free`).
  bool waiting_for_room_ = false;
};

} // namespace manta::detail
