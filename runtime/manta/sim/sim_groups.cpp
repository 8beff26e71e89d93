// Custom resources of virtual nodes and placement groups in a simulation
// (docs/simulation.md, "Custom resources and placement groups"). A group is
// laid out by the cluster's own `lay_out` (bundle_layout.hpp) and recorded
// by the runtime's own registry (placement_groups.hpp: `placed`,
// `rescheduling`, `resolve`, `remove`); what the driver's cluster client
// does between them (actors/cluster_bundles.cpp: the two phases, the
// retries, the bundles of a dead node placed again) is done here on
// virtual nodes, its messages taking the network's delays.

#include "manta/sim/sim_world.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_job.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/errors.hpp"
#include "manta/placement/placement_groups.hpp"

#include <algorithm>

namespace manta::detail::sim {

namespace {

/// How soon a group that could not be reserved is tried again (the
/// cluster client's `group_retry_delay`).
constexpr vtime group_retry_delay = std::chrono::milliseconds{100};

/// The highest node a bundle can sit on: the registry keeps bundle nodes as
/// 16-bit indices, `pending_bundle_node` the last of them.
constexpr uint32_t max_group_node = pending_bundle_node - 1;

std::vector<uint32_t> distinct(std::vector<uint32_t> nodes) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

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
  r->from = q.from;
  start(r, node, q.from);
  return true;
}

// -- reserving groups ------------------------------------------------------------

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

std::vector<layout_node> world::rooms() const {
  // What each live node the driver reaches has free now (the driver's
  // `rooms`): its CPUs and custom resources less what runs and what groups
  // reserved there.
  std::vector<layout_node> out;
  for (uint32_t n = 0; n < nodes_.size() && n <= max_group_node; ++n) {
    if (!nodes_[n].alive || !reachable(0, n))
      continue;
    layout_node ln{static_cast<uint16_t>(n), custom_.empty() ? resource_map{} : custom_[n].free};
    ln.room[cpu_resource] = nodes_[n].free_cpus;
    out.push_back(std::move(ln));
  }
  return out;
}

vtime world::group_delay(uint32_t from, uint32_t to, bool& cut) {
  cut = !reachable(from, to);
  if (from == to)
    return vtime{0};
  auto d = opts_.latency + draw_jitter();
  while (draw_loss())
    d += opts_.resend_after;
  return d;
}

void world::place_group(const placement_ptr& pg) {
  if (!eng_.on_owner()) {
    eng_.post([this, pg] { place_group(pg); });
    return;
  }
  auto g = std::make_unique<sim_group>();
  g->rec = pg;
  g->nodes.assign(pg->bundles.size(), unplaced);
  groups_[pg->id] = std::move(g);
  eng_.note(event_kind::group, 0, pg->id);
  try_group(pg->id);
}

void world::remove_group(const placement_ptr& pg) {
  // The registry calls it under its lock: the rest is an event.
  auto go = [this, pg] {
    auto it = groups_.find(pg->id);
    if (it == groups_.end())
      return;
    it->second->removed = true;
    if (it->second->missing > 0)
      return; // the try in flight gives back what it took when it ends
    drop_group(pg->id);
  };
  if (eng_.on_owner())
    eng_.after(vtime{0}, event_kind::group, 0, pg->id, std::move(go));
  else
    eng_.post(std::move(go));
}

void world::drop_group(uint64_t id) {
  auto it = groups_.find(id);
  if (it == groups_.end())
    return;
  std::vector<uint32_t> all;
  for (auto& [node, epoch] : it->second->holders)
    all.push_back(node);
  give_back(*it->second, all);
  groups_.erase(it);
  apart_dirty_ = true; // its tasks fail now (`resolve` says it is gone)
  place_ready();
}

void world::give_back(sim_group& g, const std::vector<uint32_t>& nodes) {
  for (auto node : nodes) {
    auto h = g.holders.find(node);
    if (h == g.holders.end())
      continue;
    bool same_life = nodes_[node].alive && nodes_[node].epoch == h->second;
    g.holders.erase(h);
    if (!same_life)
      continue; // went with the node
    std::vector<indexed_bundle> here;
    resource_map sum;
    for (size_t b = 0; b < g.nodes.size(); ++b)
      if (g.nodes[b] == node) {
        here.emplace_back(static_cast<uint32_t>(b), g.rec->bundles[b]);
        for (auto& [name, amount] : g.rec->bundles[b])
          sum[name] += amount;
      }
    // The bundle names leave the node (tasks still running in them give
    // nothing back to them), its own resources come back.
    auto& c = custom_[node];
    for (auto& [name, amount] : hosted_bundles::names_for(g.rec->hex, here)) {
      c.total.erase(name);
      c.free.erase(name);
    }
    for (auto& [name, amount] : sum) {
      if (name == cpu_resource) {
        nodes_[node].free_cpus += amount;
        free_sum_ += amount;
      } else {
        c.free[name] += amount;
      }
    }
  }
  apart_dirty_ = true;
  wake_groups();
}

bool world::lay_out_lost(sim_group& g) {
  // On nodes that hold none of its other bundles (a node keeps one
  // reservation per group), as the driver's `lay_out_lost`.
  auto room = rooms();
  std::erase_if(room, [&](const layout_node& n) {
    return std::find(g.nodes.begin(), g.nodes.end(), uint32_t{n.index}) != g.nodes.end();
  });
  std::vector<resource_map> bundles;
  for (auto b : g.lost)
    bundles.push_back(g.rec->bundles[b]);
  auto layout = lay_out(bundles, g.rec->strategy, room);
  if (!layout)
    return false;
  for (size_t k = 0; k < g.lost.size(); ++k)
    g.nodes[g.lost[k]] = (*layout)[k];
  return true;
}

void world::try_group(uint64_t id) {
  auto& g = *groups_.at(id);
  bool again = !g.lost.empty();
  if ((g.reserved && !again) || g.removed || g.missing > 0)
    return;
  if (again) {
    if (!lay_out_lost(g)) {
      groups_waiting_ = true; // waits for a node that fits to be revived (or room there)
      return;
    }
    g.placing = g.lost;
    g.asked.clear();
    for (auto b : g.placing)
      g.asked.push_back(g.nodes[b]);
    g.asked = distinct(std::move(g.asked));
  } else {
    auto layout = lay_out(g.rec->bundles, g.rec->strategy, rooms());
    if (!layout) {
      groups_waiting_ = true; // waits for resources to free up (or a node to come back)
      return;
    }
    g.nodes.assign(layout->begin(), layout->end());
    g.asked = distinct(g.nodes);
  }
  g.refused.clear();
  auto attempt = ++g.attempt;
  g.missing = g.asked.size();
  // Phase one: every node of the layout is asked to take its bundles.
  for (auto node : g.asked) {
    resource_map sum;
    for (size_t b = 0; b < g.nodes.size(); ++b)
      if (g.nodes[b] == node)
        for (auto& [name, amount] : g.rec->bundles[b])
          sum[name] += amount;
    bool cut = false;
    auto d = group_delay(0, node, cut);
    if (cut) { // the request times out
      eng_.after(opts_.resend_after, event_kind::group, node, id, [this, id, attempt, node] {
        answered(id, attempt, node_label(node) + " did not answer (cut off by a partition)");
      });
      continue;
    }
    eng_.after(d, event_kind::group, node, id, [this, id, attempt, node, sum = std::move(sum)] {
      prepare(id, attempt, node, sum);
    });
  }
}

void world::prepare(uint64_t id, uint32_t attempt, uint32_t node, const resource_map& sum) {
  // On the node: takes the bundles' sum if it is free now, never queues
  // (hosted_bundles' `prepare`). A dead node does not answer: the driver's
  // request fails after `resend_after`.
  auto it = groups_.find(id);
  std::string why;
  bool cut = !nodes_[node].alive;
  if (cut) {
    why = node_label(node) + " did not answer (it died)";
  } else if (it == groups_.end() || it->second->attempt != attempt) {
    why = "the try was given up";
  } else {
    resource_map room = custom_.empty() ? resource_map{} : custom_[node].free;
    room[cpu_resource] = nodes_[node].free_cpus;
    if (!bundle_fits(sum, room)) {
      why = node_label(node) + " has no room for its bundles now";
    } else {
      for (auto& [name, amount] : sum) {
        if (name == cpu_resource) {
          nodes_[node].free_cpus -= amount;
          free_sum_ -= amount;
        } else {
          take_custom(node, {{name, amount}}, -1);
        }
      }
      it->second->holders[node] = nodes_[node].epoch;
    }
  }
  auto d = cut ? opts_.resend_after : group_delay(node, 0, cut);
  if (cut && why.empty()) { // the answer cannot cross: what it took goes back with the try
    why = node_label(node) + " did not answer (cut off by a partition)";
    d = opts_.resend_after;
  }
  eng_.after(d, event_kind::group, node, id,
             [this, id, attempt, why] { answered(id, attempt, why); });
}

void world::answered(uint64_t id, uint32_t attempt, const std::string& why) {
  auto it = groups_.find(id);
  if (it == groups_.end() || it->second->attempt != attempt || it->second->missing == 0)
    return; // nothing waits for it (what it took is given back with its try)
  auto& g = *it->second;
  if (!why.empty() && g.refused.empty())
    g.refused = why;
  if (--g.missing == 0)
    finish_try(id);
}

void world::finish_try(uint64_t id) {
  auto& g = *groups_.at(id);
  if (g.removed) {
    drop_group(id);
    return;
  }
  // A node that took its bundles and died before the commit: the try fails.
  for (auto node : g.asked)
    if (auto h = g.holders.find(node); g.refused.empty() && h != g.holders.end()
                                       && (!nodes_[node].alive || nodes_[node].epoch != h->second))
      g.refused = node_label(node) + " died";
  if (!g.refused.empty()) {
    give_back(g, g.asked);
    for (auto b : g.placing)
      g.nodes[b] = unplaced;
    g.placing.clear();
    plan_group_retry();
    return;
  }
  // Phase two: the bundles become resources of their own on each node.
  for (auto node : g.asked) {
    std::vector<indexed_bundle> here;
    for (size_t b = 0; b < g.nodes.size(); ++b)
      if (g.nodes[b] == node)
        here.emplace_back(static_cast<uint32_t>(b), g.rec->bundles[b]);
    if (custom_.empty())
      custom_.resize(nodes_.size());
    for (auto& [name, amount] : hosted_bundles::names_for(g.rec->hex, here)) {
      custom_[node].total[name] += amount;
      custom_[node].free[name] += amount;
    }
  }
  g.reserved = true;
  std::erase_if(g.lost, [&](uint32_t b) {
    return g.nodes[b] != unplaced
           && std::find(g.placing.begin(), g.placing.end(), b) != g.placing.end();
  });
  g.placing.clear();
  if (!g.lost.empty()) {
    plan_group_retry(); // another of its nodes died meanwhile
    return;
  }
  std::vector<uint16_t> nodes(g.nodes.begin(), g.nodes.end());
  if (!runtime::here().placements().placed(g.rec, nodes)) {
    drop_group(id); // removed meanwhile
    return;
  }
  eng_.note(event_kind::group, 0, id);
  // Tasks and actors submitted into it while it was pending (or while its
  // lost bundles were placed again) go now.
  apart_dirty_ = true;
  place_ready();
}

void world::plan_group_retry() {
  if (group_retry_planned_)
    return;
  group_retry_planned_ = true;
  eng_.after(group_retry_delay, event_kind::group, 0, 0, [this] { retry_groups(); });
}

void world::retry_groups() {
  group_retry_planned_ = false;
  std::vector<uint64_t> pending;
  for (auto& [id, g] : groups_)
    if ((!g->reserved || !g->lost.empty()) && !g->removed && g->missing == 0)
      pending.push_back(id);
  for (auto id : pending)
    try_group(id);
}

void world::groups_node_lost(uint32_t node, const std::string& why) {
  // As the driver's `groups_node_lost`: the group stays and only the
  // bundles that node held are placed again (RESCHEDULING meanwhile); the
  // work in them runs again as its retries allow.
  for (auto& [id, gp] : groups_) {
    auto& g = *gp;
    if (!g.reserved || g.removed)
      continue;
    std::vector<uint32_t> lost;
    std::string held;
    for (size_t b = 0; b < g.nodes.size(); ++b)
      if (g.nodes[b] == node) {
        lost.push_back(static_cast<uint32_t>(b));
        held += (held.empty() ? "" : ", ") + std::to_string(b);
      }
    if (lost.empty())
      continue;
    auto cause = node_label(node) + ", which held bundle " + held + ", " + why;
    if (!runtime::here().placements().rescheduling(g.rec, lost, cause))
      continue; // removed meanwhile
    g.holders.erase(node);
    for (auto b : lost) {
      g.nodes[b] = unplaced;
      if (std::find(g.lost.begin(), g.lost.end(), b) == g.lost.end())
        g.lost.push_back(b);
    }
    plan_group_retry();
  }
}

} // namespace manta::detail::sim
