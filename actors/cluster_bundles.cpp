// The driver's side of placement groups across nodes (docs/cluster.md,
// "Placement groups across nodes"): where each bundle goes, the two
// phases of reserving them on every node, giving them back, and placing
// again the bundles of a node that died.

#include "actors/atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "manta/placement/bundle_layout.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/core/runtime.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>

namespace manta::actors {

namespace {

using namespace detail;

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

/// Gives the bundles of group `id` on `nodes` back (and drops the names
/// this driver booked there).
void give_back(self_ptr self, placed_group& g, const std::vector<uint16_t>& nodes) {
  auto& st = self->state;
  for (auto node : nodes) {
    if (node == st.link->index()) {
      runtime::here().hosted().release(g.rec->id);
    } else if (auto n = st.nodes.find(node); n != st.nodes.end() && n->second.manager) {
      self->send(n->second.manager, bundle_release_atom::value, st.link->token(), g.rec->id);
      book_names(self, g, node, -1);
    }
  }
}

/// Phase two on every node the try asked, or back out on every one.
void finish_try(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& g = st.groups.at(id);
  auto local = st.link->index();
  if (g.removed) {
    // Every node holding a bundle: the try's and, when it placed lost
    // bundles again, the ones that kept theirs.
    give_back(self, g, distinct(g.nodes));
    st.groups.erase(id);
    return;
  }
  if (!g.refused.empty()) {
    give_back(self, g, g.asked);
    for (auto b : g.placing)
      g.nodes[b] = pending_bundle_node;
    plan_retry(self);
    return;
  }
  // Committed before `ready` is sealed: a task sent into a bundle right
  // after reaches the node after its commit (one sender, one order).
  for (auto node : g.asked) {
    if (node == local) {
      runtime::here().hosted().commit(id);
    } else if (auto n = st.nodes.find(node); n != st.nodes.end() && n->second.manager) {
      self->send(n->second.manager, bundle_commit_atom::value, st.link->token(), id);
      book_names(self, g, node, 1);
    }
  }
  g.reserved = true;
  // Placed now, unless its new node died meanwhile (`groups_node_lost`
  // took its node away again).
  std::erase_if(g.lost, [&](uint32_t b) {
    return g.nodes[b] != pending_bundle_node
           && std::find(g.placing.begin(), g.placing.end(), b) != g.placing.end();
  });
  g.placing.clear();
  if (!g.lost.empty()) {
    plan_retry(self); // another of its nodes died meanwhile
    return;
  }
  if (!runtime::here().placements().placed(g.rec, g.nodes)) {
    remove_group(self, g.rec); // removed meanwhile
    return;
  }
  // Tasks and actors submitted into it while it was pending (or while its
  // lost bundles were placed again) go now.
  reconnect_ended(self);
}

void answered(self_ptr self, uint64_t id, uint32_t attempt, uint16_t node, const std::string& why) {
  auto& st = self->state;
  auto i = st.groups.find(id);
  if (i == st.groups.end() || i->second.attempt != attempt || i->second.missing == 0) {
    // Nothing waits for it any more: what it took goes back.
    if (why.empty()) {
      if (node == st.link->index())
        runtime::here().hosted().release(id);
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

/// Lays out the lost bundles of `g` by its strategy over what looks free
/// on the nodes that hold none of its other bundles (a node keeps one
/// reservation per group, which a failed try gives back whole), into
/// `g.nodes`. False if they do not fit now.
bool lay_out_lost(self_ptr self, placed_group& g) {
  std::vector<uint16_t> holders;
  for (auto node : g.nodes)
    if (node != pending_bundle_node)
      holders.push_back(node);
  auto room = rooms(self);
  std::erase_if(room, [&](const layout_node& n) {
    return std::find(holders.begin(), holders.end(), n.index) != holders.end();
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

/// One try: lay the bundles (or, for a reserved group that lost a node,
/// the bundles it lost) out on what looks free, and ask every node of the
/// layout to take its bundles (phase one).
void try_group(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& g = st.groups.at(id);
  bool again = !g.lost.empty();
  if ((g.reserved && !again) || g.removed || g.missing > 0)
    return;
  if (again) {
    if (!lay_out_lost(self, g)) {
      plan_retry(self); // waits for a node that fits to join (or room there)
      return;
    }
    g.placing = g.lost;
    g.asked.clear();
    for (auto b : g.placing)
      g.asked.push_back(g.nodes[b]);
    g.asked = distinct(std::move(g.asked));
  } else {
    auto layout = lay_out(g.rec->bundles, g.rec->strategy, rooms(self));
    if (!layout) {
      plan_retry(self); // waits for resources to free up (or a node to join)
      return;
    }
    g.nodes = std::move(*layout);
    g.asked = distinct(g.nodes);
  }
  g.refused.clear();
  auto attempt = ++g.attempt;
  auto nodes = g.asked;
  g.missing = nodes.size() + 1; // held until every node was asked
  auto local = st.link->index();
  for (auto node : nodes) {
    auto bundles = bundles_on(g, node);
    if (node == local) {
      answered(self, id, attempt, node, runtime::here().hosted().prepare(id, bundles, local));
      continue;
    }
    auto& n = st.nodes.at(node);
    wire::bundle_message m{id, local, std::move(bundles)};
    self
      ->request(n.manager, 2 * st.silence_limit, bundle_prepare_atom::value, st.link->token(),
                wire::encode(m))
      .then(
        [=](bool ok, const std::string& why) {
          answered(self, id, attempt, node, ok ? std::string{} : why.empty() ? "refused" : why);
        },
        [=](caf::error& err) {
          answered(self, id, attempt, node,
                   "node-" + std::to_string(node)
                     + " did not answer: " + self->system().render(err));
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
  if (g.reserved)
    give_back(self, g, distinct(g.nodes));
  st.groups.erase(i);
  place_waiting(self);
}


void retry_groups(self_ptr self) {
  auto& st = self->state;
  st.group_retry_planned = false;
  std::vector<uint64_t> pending;
  for (auto& [id, g] : st.groups)
    if ((!g.reserved || !g.lost.empty()) && !g.removed && g.missing == 0)
      pending.push_back(id);
  for (auto id : pending)
    try_group(self, id);
}

void groups_node_lost(self_ptr self, uint16_t index, const std::string& why) {
  // As Ray does, the group stays and only the bundles that node held are
  // placed again (RESCHEDULING meanwhile): the work in them runs again
  // there as retries allow, the other bundles keep theirs. A group in its
  // first try is not reserved yet: its try fails and is made again.
  for (auto& [id, g] : self->state.groups) {
    if (!g.reserved || g.removed)
      continue;
    std::vector<uint32_t> lost;
    std::string held;
    for (size_t b = 0; b < g.nodes.size(); ++b)
      if (g.nodes[b] == index) {
        lost.push_back(static_cast<uint32_t>(b));
        held += (held.empty() ? "" : ", ") + std::to_string(b);
      }
    if (lost.empty())
      continue;
    auto cause = "node-" + std::to_string(index) + ", which held bundle " + held + ", " + why;
    if (!runtime::here().placements().rescheduling(g.rec, lost, cause))
      continue; // removed meanwhile: `remove_group` gives the rest back
    for (auto b : lost) {
      g.nodes[b] = pending_bundle_node;
      if (std::find(g.lost.begin(), g.lost.end(), b) == g.lost.end())
        g.lost.push_back(b); // not if a try in flight was placing it there
    }
    plan_retry(self); // once the dead node is off the lists
  }
}

} // namespace manta::actors
