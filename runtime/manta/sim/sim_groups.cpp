// Custom resources of virtual nodes and placement groups in a simulation
// (docs/simulation.md, "Custom resources and placement groups"). A group is
// laid out by the cluster's own `lay_out` (bundle_layout.hpp) and recorded
// by the runtime's own registry (placement_groups.hpp: `placed`,
// `rescheduling`, `resolve`, `remove`); between them the driver's own
// reservation steps (bundle_reservations.hpp: the two phases, the retries,
// the bundles of a dead node placed again) run on virtual nodes through
// `group_port`, their messages taking the network's delays.

#include "manta/sim/sim_world.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_job.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/errors.hpp"
#include "manta/placement/placement_groups.hpp"

#include <algorithm>
#include <map>

namespace manta::detail::sim {

namespace {

/// The highest node a bundle can sit on: the registry keeps bundle nodes as
/// 16-bit indices, `pending_bundle_node` the last of them.
constexpr uint32_t max_group_node = pending_bundle_node - 1;

std::string node_label(uint32_t n) {
  return "node-" + std::to_string(n);
}

} // namespace

// -- custom resources ------------------------------------------------------------

bool world::custom_fits(uint32_t n, const resource_map& d, bool free) const {
  if (d.empty())
    return true;
  if (custom_.empty())
    return std::all_of(d.begin(), d.end(), [](auto& kv) { return kv.second <= 0; });
  return bundle_fits(d, free ? custom_[n].free : custom_[n].total);
}

void world::take_custom(uint32_t n, const resource_map& d, double sign) {
  if (custom_.empty())
    custom_.resize(nodes_.size());
  auto& c = custom_[n];
  for (auto& [name, amount] : d) {
    if (sign > 0 && c.total.count(name) == 0)
      continue; // a bundle of a group removed since: gone from the node
    c.free[name] += sign * amount;
  }
}

bool world::fits_a_node(const resource_demand& d, resource_demand* total) const {
  // The nodes' own resources (not what is free): whether it can ever run,
  // as a driver checks a task against its cluster's totals.
  if (total != nullptr) {
    total->cpus = opts_.cpus_per_node * static_cast<double>(opts_.nodes);
    total->custom.clear();
    for (auto& [n, own] : opts_.node_resources)
      for (auto& [name, amount] : own)
        total->custom[name] += amount;
  }
  if (d.cpus > opts_.cpus_per_node)
    return false;
  if (std::all_of(d.custom.begin(), d.custom.end(), [](auto& kv) { return kv.second <= 0; }))
    return true;
  return std::any_of(opts_.node_resources.begin(), opts_.node_resources.end(),
                     [&](auto& kv) { return bundle_fits(d.custom, kv.second); });
}

void world::hold(queued& q) {
  apart_.push_back(std::move(q));
}

void world::requeue_held() {
  if (!apart_dirty_ || apart_.empty())
    return;
  apart_dirty_ = false;
  // In front, in the order they came: they were first in the queue.
  for (auto it = apart_.rbegin(); it != apart_.rend(); ++it)
    ready_.push_front(std::move(*it));
  apart_.clear();
  actors_apart_ = 0;
}

// -- tasks and actors in a group ---------------------------------------------------


bool world::place_group_actor(queued& q, const actor_job& job) {
  auto* core = const_cast<actor_core*>(static_cast<const actor_core*>(job.lease_owner()));
  release_hold(core); // a restart takes its share of the bundle again below
  auto where = core->options().strategy;
  auto& demand = core->options().resources;
  std::string why;
  auto pinned = runtime::here().placements().pin(where, demand, why);
  if (pinned < 0) {
    // As the driver's `create_remote_actor` refuses it; a removal of its
    // group has killed it already. Its job then only tidies up.
    core->kill("actor cannot be placed: " + why, false);
    execute_task(q.task);
    return true;
  }
  if (pinned == 0 || !nodes_[where.node].alive || nodes_[where.node].free_cpus < demand.cpus
      || !custom_fits(where.node, demand.custom, true)) {
    hold(q); // its group is not reserved (again) yet, or its node's death is not noticed yet
    return true;
  }
  auto node = where.node;
  auto r = std::make_shared<run_rec>();
  r->task = std::move(q.task);
  r->actor = true;
  actor_home_[core] = node;
  actor_node_[core] = node;
  nodes_[node].actors.push_back(core->weak_from_this());
  // As on a cluster, the instance keeps its share of the bundle (its
  // demand, rewritten onto the bundle's resources) for its life: work
  // submitted into the same bundle waits for what the actor leaves.
  if (demand.cpus > 0 || !demand.custom.empty()) {
    nodes_[node].free_cpus -= demand.cpus;
    free_sum_ -= demand.cpus;
    take_custom(node, demand.custom, -1);
    holds_[core] = actor_hold{node, nodes_[node].epoch, demand.cpus, demand.custom};
  }
  r->from = q.from;
  start(r, node, q.from);
  return true;
}

// -- reserving groups ------------------------------------------------------------

/// The virtual nodes as the reservation steps see them: each node's
/// `hosted_bundles` (what it took for a group, with the node's life then,
/// as a reservation on an earlier life went with it), the two phases'
/// messages with the network's delays, loss and partitions, and the retry
/// timer in virtual time.
class world::group_port final : public bundle_reservations::port {
public:
  explicit group_port(world& w) : w_(w) {}

  placement_registry& registry() override { return runtime::here().placements(); }

  std::vector<layout_node> rooms() override {
    // What each live node the driver reaches has free now (the driver's
    // `rooms`): its CPUs and custom resources less what runs and what
    // groups reserved there.
    std::vector<layout_node> out;
    for (uint32_t n = 0; n < w_.nodes_.size() && n <= max_group_node; ++n) {
      if (!w_.nodes_[n].alive || !w_.reachable(0, n))
        continue;
      layout_node ln{static_cast<uint16_t>(n),
                     w_.custom_.empty() ? resource_map{} : w_.custom_[n].free};
      ln.room[cpu_resource] = w_.nodes_[n].free_cpus;
      out.push_back(std::move(ln));
    }
    return out;
  }

  void prepare(const placement_ptr& g, uint32_t attempt, uint16_t node,
               std::vector<indexed_bundle> bundles) override {
    resource_map sum;
    for (auto& [b, bundle] : bundles)
      for (auto& [name, amount] : bundle)
        sum[name] += amount;
    auto id = g->id;
    bool cut = false;
    auto d = delay(0, node, cut);
    if (cut) { // the request times out
      w_.eng_.after(w_.opts_.resend_after, event_kind::group, node, id, [this, id, attempt, node] {
        w_.groups_.answered(id, attempt, node,
                            node_label(node) + " did not answer (cut off by a partition)");
      });
      return;
    }
    w_.eng_.after(d, event_kind::group, node, id, [this, id, attempt, node, sum = std::move(sum)] {
      take(id, attempt, node, sum);
    });
  }

  void commit(const placement_ptr& g, uint16_t node,
              const std::vector<indexed_bundle>& bundles) override {
    // The bundles become resources of their own on the node.
    if (w_.custom_.empty())
      w_.custom_.resize(w_.nodes_.size());
    for (auto& [name, amount] : hosted_bundles::names_for(g->hex, bundles)) {
      w_.custom_[node].total[name] += amount;
      w_.custom_[node].free[name] += amount;
    }
  }

  void release(const placement_ptr& g, uint16_t node,
               const std::vector<indexed_bundle>& bundles) override {
    w_.apart_dirty_ = true;
    auto held = held_.find(g->id);
    if (held == held_.end())
      return;
    auto h = held->second.find(node);
    if (h == held->second.end())
      return;
    bool same_life = w_.nodes_[node].alive && w_.nodes_[node].epoch == h->second;
    held->second.erase(h);
    if (!same_life)
      return; // went with the node
    // The bundle names leave the node (tasks still running in them give
    // nothing back to them), its own resources come back.
    resource_map sum;
    for (auto& [b, bundle] : bundles)
      for (auto& [name, amount] : bundle)
        sum[name] += amount;
    if (!w_.custom_.empty())
      for (auto& [name, amount] : hosted_bundles::names_for(g->hex, bundles)) {
        w_.custom_[node].total.erase(name);
        w_.custom_[node].free.erase(name);
      }
    for (auto& [name, amount] : sum) {
      if (name == cpu_resource) {
        w_.nodes_[node].free_cpus += amount;
        w_.free_sum_ += amount;
      } else {
        w_.custom_[node].free[name] += amount;
      }
    }
  }

  void release_late(uint64_t, uint16_t) override {
    // Never taken: a virtual node refuses a try nobody waits for (`take`).
  }

  std::string lost_since_prepare(const placement_ptr& g, uint16_t node) override {
    // A node that took its bundles and died before the commit: the try
    // fails (the driver would commit and notice later).
    auto held = held_.find(g->id);
    if (held == held_.end())
      return {};
    auto h = held->second.find(node);
    if (h == held->second.end() || (w_.nodes_[node].alive && w_.nodes_[node].epoch == h->second))
      return {};
    return node_label(node) + " died";
  }

  void retry_after(std::chrono::milliseconds d) override {
    w_.eng_.after(d, event_kind::group, 0, 0, [this] { w_.groups_.retry(); });
  }

  void reserved(const placement_ptr& g) override {
    w_.eng_.note(event_kind::group, 0, g->id);
    w_.apart_dirty_ = true;
    w_.place_ready();
  }

  void dropped(const placement_ptr& g) override {
    held_.erase(g->id);
    w_.apart_dirty_ = true; // its tasks fail now (`resolve` says it is gone)
    w_.place_ready();
  }

private:
  /// A message of a reservation from `from` to `to`: its delay (a lost one
  /// sent again after `resend_after`); `cut`: across a partition.
  vtime delay(uint32_t from, uint32_t to, bool& cut) {
    cut = !w_.reachable(from, to);
    if (from == to)
      return vtime{0};
    auto d = w_.opts_.latency + w_.draw_jitter();
    while (w_.draw_loss())
      d += w_.opts_.resend_after;
    return d;
  }

  /// Phase one on the node: takes the bundles' sum if it is free now, never
  /// queues (hosted_bundles' `prepare`). A dead node does not answer: the
  /// driver's request fails after `resend_after`.
  void take(uint64_t id, uint32_t attempt, uint16_t node, const resource_map& sum) {
    std::string why;
    auto& n = w_.nodes_[node];
    bool cut = !n.alive;
    if (cut) {
      why = node_label(node) + " did not answer (it died)";
    } else if (!w_.groups_.waits_for(id, attempt)) {
      why = "the try was given up";
    } else {
      resource_map room = w_.custom_.empty() ? resource_map{} : w_.custom_[node].free;
      room[cpu_resource] = n.free_cpus;
      if (!bundle_fits(sum, room)) {
        why = node_label(node) + " has no room for its bundles now";
      } else {
        for (auto& [name, amount] : sum) {
          if (name == cpu_resource) {
            n.free_cpus -= amount;
            w_.free_sum_ -= amount;
          } else {
            w_.take_custom(node, {{name, amount}}, -1);
          }
        }
        held_[id][node] = n.epoch;
      }
    }
    auto d = cut ? w_.opts_.resend_after : delay(node, 0, cut);
    if (cut && why.empty()) { // the answer cannot cross: what it took goes back with the try
      why = node_label(node) + " did not answer (cut off by a partition)";
      d = w_.opts_.resend_after;
    }
    w_.eng_.after(d, event_kind::group, node, id,
                  [this, id, attempt, node, why] { w_.groups_.answered(id, attempt, node, why); });
  }

  world& w_;
  /// By group, the nodes that took its bundles and each one's epoch then.
  std::map<uint64_t, std::map<uint16_t, uint64_t>> held_;
};

std::unique_ptr<bundle_reservations::port> world::make_group_port(world& w) {
  return std::make_unique<group_port>(w);
}

std::vector<layout_node> world::group_nodes() const {
  std::vector<layout_node> out;
  for (uint32_t n = 0; n < nodes_.size() && n <= max_group_node; ++n) {
    if (!nodes_[n].alive)
      continue;
    auto own = opts_.node_resources.find(n);
    layout_node ln{static_cast<uint16_t>(n),
                   own == opts_.node_resources.end() ? resource_map{} : own->second};
    ln.room[cpu_resource] = opts_.cpus_per_node;
    out.push_back(std::move(ln));
  }
  return out;
}

void world::place_group(const placement_ptr& pg) {
  if (!eng_.on_owner()) {
    eng_.post([this, pg] { place_group(pg); });
    return;
  }
  eng_.note(event_kind::group, 0, pg->id);
  groups_.place(pg);
}

void world::remove_group(const placement_ptr& pg) {
  // The registry calls it under its lock: the rest is an event.
  auto go = [this, pg] { groups_.remove(pg); };
  if (eng_.on_owner())
    eng_.after(vtime{0}, event_kind::group, 0, pg->id, std::move(go));
  else
    eng_.post(std::move(go));
}

void world::groups_node_lost(uint32_t node, const std::string& why) {
  // As the driver's: the group stays and only the bundles that node held
  // are placed again (RESCHEDULING meanwhile).
  if (node <= max_group_node)
    groups_.node_lost(static_cast<uint16_t>(node), why);
}

} // namespace manta::detail::sim
