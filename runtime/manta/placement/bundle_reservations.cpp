// The owner's side of placement groups across nodes, one copy for the
// driver's cluster client and the simulator (bundle_reservations.hpp;
// docs/cluster.md, "Placement groups across nodes").

#include "manta/placement/bundle_reservations.hpp"

#include <algorithm>

namespace manta::detail {

namespace {

/// The nodes in `nodes` once each, in order, without `pending_bundle_node`.
std::vector<uint16_t> distinct(std::vector<uint16_t> nodes) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  std::erase(nodes, pending_bundle_node);
  return nodes;
}

} // namespace

std::string bundle_reservations::port::lost_since_prepare(const placement_ptr&, uint16_t) {
  return {};
}

std::vector<indexed_bundle> bundle_reservations::bundles_on(const group& g, uint16_t node) {
  std::vector<indexed_bundle> out;
  for (size_t b = 0; b < g.nodes.size(); ++b)
    if (g.nodes[b] == node)
      out.emplace_back(static_cast<uint32_t>(b), g.rec->bundles[b]);
  return out;
}

void bundle_reservations::place(const placement_ptr& pg) {
  auto& g = groups_[pg->id];
  g.rec = pg;
  g.nodes.assign(pg->bundles.size(), pending_bundle_node);
  try_group(pg->id);
}

void bundle_reservations::remove(const placement_ptr& pg) {
  auto i = groups_.find(pg->id);
  if (i == groups_.end())
    return;
  auto& g = i->second;
  g.removed = true;
  if (g.missing > 0)
    return; // the try in flight gives back what it took when it ends
  drop(pg->id, g.reserved ? distinct(g.nodes) : std::vector<uint16_t>{});
}

bool bundle_reservations::waits_for(uint64_t id, uint32_t attempt) const {
  auto i = groups_.find(id);
  return i != groups_.end() && i->second.attempt == attempt && i->second.missing > 0;
}

void bundle_reservations::take_reserved(uint16_t node, resource_map& room) const {
  for (auto& [id, g] : groups_)
    if (g.reserved)
      for (auto& [b, bundle] : bundles_on(g, node))
        for (auto& [name, amount] : bundle)
          room[name] -= amount;
}

void bundle_reservations::give_back(group& g, const std::vector<uint16_t>& nodes) {
  for (auto node : nodes)
    port_.release(g.rec, node, bundles_on(g, node));
  resources_freed();
}

void bundle_reservations::drop(uint64_t id, const std::vector<uint16_t>& nodes) {
  auto i = groups_.find(id);
  if (i == groups_.end())
    return;
  auto rec = i->second.rec;
  give_back(i->second, nodes);
  groups_.erase(id);
  port_.dropped(rec);
}

void bundle_reservations::plan_retry() {
  if (retry_planned_)
    return;
  retry_planned_ = true;
  port_.retry_after(retry_delay);
}

void bundle_reservations::no_room() {
  if (policy_ == when_no_room::poll)
    plan_retry(); // a node may join, or others' work end, unseen
  else
    waiting_for_room_ = true;
}

void bundle_reservations::retry() {
  retry_planned_ = false;
  std::vector<uint64_t> pending;
  for (auto& [id, g] : groups_)
    if ((!g.reserved || !g.lost.empty()) && !g.removed && g.missing == 0)
      pending.push_back(id);
  for (auto id : pending)
    try_group(id);
}

bool bundle_reservations::lay_out_lost(group& g) {
  // On the nodes that hold none of its other bundles: a node keeps one
  // reservation per group, which a failed try gives back whole.
  auto room = port_.rooms();
  std::erase_if(room, [&](const layout_node& n) {
    return std::find(g.nodes.begin(), g.nodes.end(), n.index) != g.nodes.end();
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

void bundle_reservations::try_group(uint64_t id) {
  auto i = groups_.find(id);
  if (i == groups_.end())
    return;
  auto& g = i->second;
  bool again = !g.lost.empty();
  if ((g.reserved && !again) || g.removed || g.missing > 0)
    return;
  if (again) {
    if (!lay_out_lost(g)) {
      no_room(); // waits for a node that fits to join (or room there)
      return;
    }
    g.placing = g.lost;
    g.asked.clear();
    for (auto b : g.placing)
      g.asked.push_back(g.nodes[b]);
    g.asked = distinct(std::move(g.asked));
  } else {
    auto layout = lay_out(g.rec->bundles, g.rec->strategy, port_.rooms());
    if (!layout) {
      no_room(); // waits for resources to free up (or a node to join)
      return;
    }
    g.nodes = std::move(*layout);
    g.asked = distinct(g.nodes);
  }
  g.refused.clear();
  auto attempt = ++g.attempt;
  auto nodes = g.asked;
  // Phase one. One more answer is held until every node was asked, as a
  // port may answer at once.
  g.missing = nodes.size() + 1;
  for (auto node : nodes)
    port_.prepare(g.rec, attempt, node, bundles_on(g, node));
  count_answer(id);
}

void bundle_reservations::answered(uint64_t id, uint32_t attempt, uint16_t node,
                                   const std::string& why) {
  auto i = groups_.find(id);
  if (i == groups_.end() || i->second.attempt != attempt || i->second.missing == 0) {
    if (why.empty())
      port_.release_late(id, node); // nothing waits for it: what it took goes back
    return;
  }
  if (!why.empty() && i->second.refused.empty())
    i->second.refused = why;
  count_answer(id);
}

void bundle_reservations::count_answer(uint64_t id) {
  if (--groups_.at(id).missing == 0)
    finish_try(id);
}

void bundle_reservations::finish_try(uint64_t id) {
  auto& g = groups_.at(id);
  if (g.removed) {
    // Every node holding a bundle: the try's and, when it placed lost
    // bundles again, the ones that kept theirs.
    drop(id, distinct(g.nodes));
    return;
  }
  for (auto node : g.asked)
    if (g.refused.empty())
      g.refused = port_.lost_since_prepare(g.rec, node);
  if (!g.refused.empty()) {
    give_back(g, g.asked);
    for (auto b : g.placing)
      g.nodes[b] = pending_bundle_node;
    g.placing.clear();
    plan_retry();
    return;
  }
  // Phase two, before `ready` is sealed: work sent into a bundle right
  // after reaches its node after the commit (one sender, one order).
  for (auto node : g.asked)
    port_.commit(g.rec, node, bundles_on(g, node));
  g.reserved = true;
  // Placed now, unless its new node died meanwhile (`node_lost` took its
  // node away again).
  std::erase_if(g.lost, [&](uint32_t b) {
    return g.nodes[b] != pending_bundle_node
           && std::find(g.placing.begin(), g.placing.end(), b) != g.placing.end();
  });
  g.placing.clear();
  if (!g.lost.empty()) {
    plan_retry(); // another of its nodes died meanwhile
    return;
  }
  if (!port_.registry().placed(g.rec, g.nodes)) {
    drop(id, distinct(g.nodes)); // removed meanwhile
    return;
  }
  // Work submitted into it while it was pending (or while its lost
  // bundles were placed again) goes now.
  port_.reserved(g.rec);
}

void bundle_reservations::node_lost(uint16_t node, const std::string& why) {
  // As Ray does, the group stays and only the bundles that node held are
  // placed again (RESCHEDULING meanwhile): the work in them runs again as
  // its retries allow, the other bundles keep their nodes. A group in its
  // first try is not reserved yet: its try fails and is made again.
  for (auto& [id, g] : groups_) {
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
    auto cause = "node-" + std::to_string(node) + ", which held bundle " + held + ", " + why;
    if (!port_.registry().rescheduling(g.rec, lost, cause))
      continue; // removed meanwhile: `remove` gives the rest back
    for (auto b : lost) {
      g.nodes[b] = pending_bundle_node;
      if (std::find(g.lost.begin(), g.lost.end(), b) == g.lost.end())
        g.lost.push_back(b); // not if a try in flight was placing it there
    }
    plan_retry(); // once the dead node is off the lists
  }
}

} // namespace manta::detail
