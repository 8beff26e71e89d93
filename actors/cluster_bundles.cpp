// The driver's side of placement groups across nodes (docs/cluster.md,
// "Placement groups across nodes"): where each bundle goes, the two
// phases of reserving them on every node, giving them back, and what a
// dead node does to a group.

#include "actors/atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "manta/detail/bundle_layout.hpp"
#include "manta/detail/cluster.hpp"
#include "manta/detail/hosted_bundles.hpp"
#include "manta/detail/worker_pool.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>

namespace manta::actors {

namespace {

using namespace detail;
using self_ptr = cluster_client_actor*;

/// How soon a group that could not be reserved is tried again.
constexpr auto group_retry_delay = std::chrono::milliseconds{100};

/// The bundles of `g` that sit on `node`, with their indices.
std::vector<indexed_bundle> bundles_on(const placed_group& g, uint16_t node) {
  std::vector<indexed_bundle> out;
  for (size_t b = 0; b < g.nodes.size(); ++b)
    if (g.nodes[b] == node)
      out.emplace_back(static_cast<uint32_t>(b), g.rec->bundles[b]);
  return out;
}

std::vector<uint16_t> distinct(std::vector<uint16_t> nodes) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

void plan_retry(self_ptr self) {
  auto& st = self->state;
  if (st.group_retry_planned)
    return;
  st.group_retry_planned = true;
  self->delayed_send(self, group_retry_delay, group_retry_atom::value);
}

/// What each node has room for as this driver sees it: this node's free
/// resources, and each worker's totals less the bundles this driver
/// reserved there and the tasks it keeps there. A worker busy with other
/// drivers' work says no when asked, and the group waits.
std::vector<layout_node> rooms(self_ptr self) {
  auto& st = self->state;
  std::vector<layout_node> out;
  out.push_back({st.link->index(), st.link->pool().resources().first});
  for (auto& [index, n] : st.nodes) {
    if (!n.manager)
      continue;
    auto room = n.info.custom;
    room[cpu_resource] = std::max(0.0, n.info.cpus - n.busy_cpus);
    for (auto& [name, amount] : n.busy_custom)
      room[name] -= amount;
    for (auto& [id, g] : st.groups)
      if (g.reserved)
        for (auto& [b, bundle] : bundles_on(g, index))
          for (auto& [name, amount] : bundle)
            room[name] -= amount;
    out.push_back({index, std::move(room)});
  }
  return out;
}

/// The driver's view of worker `node` gains (`sign` 1) or loses (-1) the
/// bundle resources of `g` there, so that tasks and actors in a bundle
/// are placed there like any custom resource.
void book_names(self_ptr self, const placed_group& g, uint16_t node, double sign) {
  auto n = self->state.nodes.find(node);
  if (n == self->state.nodes.end())
    return;
  auto& custom = n->second.info.custom;
  for (auto& [name, amount] : hosted_bundles::names_for(g.rec->hex, bundles_on(g, node))) {
    custom[name] += sign * amount;
    if (sign < 0)
      custom.erase(name);
  }
}

/// Phase two on every node of the layout, or back out on every one.
void finish_try(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& g = st.groups.at(id);
  auto local = st.link->index();
  auto token = st.link->token();
  auto nodes = distinct(g.nodes);
  auto give_back = [&] {
    for (auto node : nodes) {
      if (node == local) {
        hosted_bundles::instance().release(id);
      } else if (auto n = st.nodes.find(node); n != st.nodes.end() && n->second.manager) {
        self->send(n->second.manager, bundle_release_atom::value, token, id);
      }
    }
  };
  if (!g.refused.empty() || g.removed) {
    give_back();
    if (g.removed)
      st.groups.erase(id);
    else
      plan_retry(self);
    return;
  }
  // Committed before `ready` is sealed: a task sent into a bundle right
  // after reaches the node after its commit (one sender, one order).
  for (auto node : nodes) {
    if (node == local) {
      hosted_bundles::instance().commit(id);
    } else if (auto n = st.nodes.find(node); n != st.nodes.end() && n->second.manager) {
      self->send(n->second.manager, bundle_commit_atom::value, token, id);
      book_names(self, g, node, 1);
    }
  }
  g.reserved = true;
  if (!placement_registry::instance().placed(g.rec, g.nodes)) {
    remove_group(self, g.rec); // removed meanwhile
    return;
  }
  // Tasks and actors submitted into it while it was pending go now.
  reconnect_ended(self);
}

void answered(self_ptr self, uint64_t id, uint32_t attempt, uint16_t node,
              const std::string& why) {
  auto& st = self->state;
  auto i = st.groups.find(id);
  if (i == st.groups.end() || i->second.attempt != attempt || i->second.missing == 0) {
    // Nothing waits for it any more: what it took goes back.
    if (why.empty()) {
      if (node == st.link->index())
        hosted_bundles::instance().release(id);
      else if (auto n = st.nodes.find(node); n != st.nodes.end() && n->second.manager)
        self->send(n->second.manager, bundle_release_atom::value, st.link->token(), id);
    }
    return;
  }
  auto& g = i->second;
  if (!why.empty() && g.refused.empty())
    g.refused = why;
  if (--g.missing == 0)
    finish_try(self, id);
}

/// One try: lay the bundles out on what looks free, and ask every node of
/// the layout to take its bundles (phase one).
void try_group(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& g = st.groups.at(id);
  if (g.reserved || g.removed || g.missing > 0)
    return;
  auto layout = lay_out(g.rec->bundles, g.rec->strategy, rooms(self));
  if (!layout) {
    plan_retry(self); // waits for resources to free up (or a node to join)
    return;
  }
  g.nodes = std::move(*layout);
  g.refused.clear();
  auto attempt = ++g.attempt;
  auto nodes = distinct(g.nodes);
  g.missing = nodes.size() + 1; // held until every node was asked
  auto local = st.link->index();
  for (auto node : nodes) {
    auto bundles = bundles_on(g, node);
    if (node == local) {
      answered(self, id, attempt, node, hosted_bundles::instance().prepare(id, bundles, local));
      continue;
    }
    auto& n = st.nodes.at(node);
    wire::bundle_message m{id, local, std::move(bundles)};
    self->request(n.manager, 2 * st.silence_limit, bundle_prepare_atom::value,
                  st.link->token(), wire::encode(m))
      .then(
        [=](bool ok, const std::string& why) {
          answered(self, id, attempt, node,
                   ok ? std::string{} : why.empty() ? "refused" : why);
        },
        [=](caf::error& err) {
          answered(self, id, attempt, node,
                   "node-" + std::to_string(node) + " did not answer: "
                     + self->system().render(err));
        });
  }
  answered(self, id, attempt, local, {}); // every node was asked
}

} // namespace

void place_group(self_ptr self, const placement_ptr& pg) {
  auto& g = self->state.groups[pg->id];
  g.rec = pg;
  try_group(self, pg->id);
}

void remove_group(self_ptr self, const placement_ptr& pg) {
  auto& st = self->state;
  auto i = st.groups.find(pg->id);
  if (i == st.groups.end())
    return;
  auto& g = i->second;
  g.removed = true;
  if (g.missing > 0)
    return; // the try in flight gives back what it took when it ends
  if (g.reserved) {
    for (auto node : distinct(g.nodes)) {
      if (node == st.link->index()) {
        hosted_bundles::instance().release(pg->id);
      } else if (auto n = st.nodes.find(node); n != st.nodes.end() && n->second.manager) {
        self->send(n->second.manager, bundle_release_atom::value, st.link->token(), pg->id);
        book_names(self, g, node, -1);
      }
    }
  }
  st.groups.erase(i);
  place_waiting(self);
}

int pin_to_bundle(scheduling_strategy& where, const resource_demand& d, std::string& why) {
  if (where.kind != scheduling_strategy::node_affinity || where.node != pending_bundle_node)
    return 1;
  uint16_t node = 0;
  switch (placement_registry::instance().resolve(where, d, node, why)) {
    case placement_registry::resolution::pending:
      return 0;
    case placement_registry::resolution::gone:
      return -1;
    case placement_registry::resolution::placed:
      break;
  }
  where.node = node;
  return 1;
}

void retry_groups(self_ptr self) {
  auto& st = self->state;
  st.group_retry_planned = false;
  std::vector<uint64_t> pending;
  for (auto& [id, g] : st.groups)
    if (!g.reserved && !g.removed && g.missing == 0)
      pending.push_back(id);
  for (auto id : pending)
    try_group(self, id);
}

void groups_node_lost(self_ptr self, uint16_t index, const std::string& why) {
  std::vector<std::pair<placement_ptr, std::string>> lost;
  for (auto& [id, g] : self->state.groups) {
    if (!g.reserved || g.removed)
      continue;
    std::string held;
    for (size_t b = 0; b < g.nodes.size(); ++b)
      if (g.nodes[b] == index)
        held += (held.empty() ? "" : ", ") + std::to_string(b);
    if (!held.empty())
      lost.emplace_back(g.rec, "node-" + std::to_string(index) + ", which held bundle "
                                 + held + ", " + why);
  }
  // The group cannot keep its promise (all of its bundles reserved), so it
  // fails as a removed one does; the bundles on the other nodes are given
  // back by `remove_group` when the registry's message arrives.
  for (auto& [pg, cause] : lost)
    placement_registry::instance().remove(pg, cause);
}

} // namespace manta::actors
