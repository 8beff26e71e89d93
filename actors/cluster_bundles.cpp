// The driver's side of placement groups across nodes (docs/cluster.md,
// "Placement groups across nodes"): the reservation steps are
// placement/bundle_reservations.hpp's, shared with the simulator; this is
// their port on a cluster: what each node looks free to this driver, the
// two phases as messages to the node managers (this node's own
// `hosted_bundles` called directly), the bundle names this driver's view
// of a worker gains and loses, and the retry timer.

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/core/runtime.hpp"
#include "manta/placement/bundle_reservations.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/sched/worker_pool.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <type_traits>

namespace manta::actors {

namespace {

using namespace detail;

class client_port final : public bundle_reservations::port {
public:
  explicit client_port(self_ptr self) : self_(self) {}

  placement_registry& registry() override { return runtime::here().placements(); }

  /// What each node has room for as this driver sees it: this node's free
  /// resources, and each worker's totals less the bundles this driver
  /// reserved there and the tasks it keeps there. A worker busy with other
  /// drivers' work says no when asked, and the group waits.
  std::vector<layout_node> rooms() override {
    auto& st = self_->state;
    std::vector<layout_node> out;
    out.push_back({st.link->index(), st.link->pool().resources().first});
    for (auto& [index, n] : st.nodes) {
      if (!n.manager)
        continue;
      auto room = n.custom;
      room[cpu_resource] = std::max(0.0, n.info.cpus - n.busy_cpus);
      for (auto& [name, amount] : n.busy_custom)
        room[name] -= amount;
      st.bundles->take_reserved(index, room);
      out.push_back({index, std::move(room)});
    }
    return out;
  }

  void prepare(const placement_ptr& g, uint32_t attempt, uint16_t node,
               std::vector<indexed_bundle> bundles) override {
    auto& st = self_->state;
    auto local = st.link->index();
    auto id = g->id;
    if (node == local) {
      st.bundles->answered(id, attempt, node, runtime::here().hosted().prepare(id, bundles, local));
      return;
    }
    auto self = self_;
    wire::bundle_message m{id, local, std::move(bundles)};
    self
      ->request(st.nodes.at(node).manager, 2 * st.silence_limit, bundle_prepare_atom::value,
                st.link->token(), wire::encode(m))
      .then(
        [=](bool ok, const std::string& why) {
          self->state.bundles->answered(id, attempt, node,
                                        ok            ? std::string{}
                                        : why.empty() ? "refused"
                                                      : why);
        },
        [=](caf::error& err) {
          self->state.bundles->answered(id, attempt, node,
                                        "node-" + std::to_string(node)
                                          + " did not answer: " + self->system().render(err));
        });
  }

  void commit(const placement_ptr& g, uint16_t node,
              const std::vector<indexed_bundle>& bundles) override {
    tell(g, node, bundles, bundle_commit_atom::value);
  }

  void release(const placement_ptr& g, uint16_t node,
               const std::vector<indexed_bundle>& bundles) override {
    tell(g, node, bundles, bundle_release_atom::value);
  }

  void release_late(uint64_t id, uint16_t node) override {
    if (node == self_->state.link->index())
      runtime::here().hosted().release(id);
    else if (auto* manager = manager_of(node))
      self_->send(*manager, bundle_release_atom::value, self_->state.link->token(), id);
  }

  void retry_after(std::chrono::milliseconds delay) override {
    self_->delayed_send(self_, delay, group_retry_atom::value);
  }

  void reserved(const placement_ptr&) override {
    reconnect_ended(self_); // what waits for the group goes now
  }

  void dropped(const placement_ptr&) override { place_waiting(self_); }

private:
  /// The node manager of connected worker `node`, or null.
  caf::actor* manager_of(uint16_t node) {
    auto* n = self_->state.nodes.connected(node);
    return n != nullptr ? &n->manager : nullptr;
  }

  /// Phase two (`bundle_commit_atom`) or giving back (`bundle_release_atom`)
  /// of `g`'s `bundles` on `node`: this node's `hosted_bundles` at once, a
  /// worker by a message; the driver's view of the worker gains or loses
  /// the bundle resources, so that tasks and actors in a bundle are placed
  /// there like any custom resource.
  template <class Atom>
  void tell(const placement_ptr& g, uint16_t node, const std::vector<indexed_bundle>& bundles,
            Atom atom) {
    constexpr bool committing = std::is_same_v<Atom, bundle_commit_atom>;
    if (node == self_->state.link->index()) {
      if (committing)
        runtime::here().hosted().commit(g->id);
      else
        runtime::here().hosted().release(g->id);
      return;
    }
    auto* n = self_->state.nodes.connected(node);
    if (n == nullptr)
      return;
    self_->send(n->manager, atom, self_->state.link->token(), g->id);
    auto& custom = n->custom;
    for (auto& [name, amount] : hosted_bundles::names_for(g->hex, bundles)) {
      if (committing)
        custom[name] += amount;
      else
        custom.erase(name);
    }
  }

  self_ptr self_;
};

} // namespace

void start_bundles(self_ptr self) {
  auto& st = self->state;
  st.bundle_port = std::make_unique<client_port>(self);
  st.bundles = std::make_unique<bundle_reservations>(*st.bundle_port,
                                                     bundle_reservations::when_no_room::poll);
}

} // namespace manta::actors
