#include "manta/cluster/node_choice.hpp"

#include <algorithm>
#include <vector>

namespace manta::detail {

namespace {

const node_view* find(std::span<const node_view> nodes, uint32_t index) {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), index,
                             [](const node_view& n, uint32_t i) { return n.index < i; });
  return it != nodes.end() && it->index == index ? &*it : nullptr;
}

/// SPREAD: the first node with room after `spread_last`, in index order,
/// wrapping around; the local node takes its turn among the others.
std::optional<uint32_t> next_spread(const placement_ask& ask, std::span<const node_view> others,
                                    uint32_t& spread_last) {
  std::vector<const node_view*> order;
  order.reserve(others.size() + 1);
  for (auto& n : others)
    order.push_back(&n);
  if (ask.local) {
    auto at = std::lower_bound(order.begin(), order.end(), ask.local->index,
                               [](const node_view* n, uint32_t i) { return n->index < i; });
    order.insert(at, &*ask.local);
  }
  if (order.empty())
    return std::nullopt;
  auto start = std::upper_bound(order.begin(), order.end(), spread_last,
                                [](uint32_t i, const node_view* n) { return i < n->index; })
               - order.begin();
  for (size_t k = 0; k < order.size(); ++k) {
    auto* n = order[(static_cast<size_t>(start) + k) % order.size()];
    if (n->has_room) {
      spread_last = n->index;
      return n->index;
    }
  }
  return std::nullopt;
}

} // namespace

node_choice choose_node(const placement_ask& ask, std::span<const node_view> others,
                        uint32_t& spread_last) {
  using k = node_choice;
  auto& where = ask.where;
  bool anywhere = true; // false once a soft affinity fell through
  if (where.kind == scheduling_strategy::node_affinity) {
    if (ask.local && where.node == ask.local->index)
      return {k::queue_local, ask.local->index};
    if (auto* n = find(others, where.node); n != nullptr && n->can_fit)
      return n->has_room ? node_choice{k::run_on, n->index} : node_choice{k::wait, 0};
    if (!where.soft)
      return {k::pinned_away, where.node};
    anywhere = false; // a soft affinity to a node that is gone: the least loaded
  } else if (where.kind == scheduling_strategy::spread) {
    if (auto n = next_spread(ask, others, spread_last))
      return {k::run_on, *n};
  } else if (ask.local && ask.local->has_room) {
    return {k::run_on, ask.local->index}; // this node first
  }
  if (anywhere && ask.prefer != 0)
    if (auto* n = find(others, ask.prefer); n != nullptr && n->has_room)
      return {k::run_on, n->index}; // its large arguments are there
  const node_view* best = nullptr;
  for (auto& n : others)
    if (n.has_room && (best == nullptr || n.load < best->load))
      best = &n;
  if (best != nullptr)
    return {k::run_on, best->index};
  if (ask.local && ask.local->can_fit)
    return {k::queue_local, ask.local->index}; // every other node is full
  for (auto& n : others)
    if (n.can_fit)
      return {k::wait, 0};
  return {k::nowhere, 0};
}

uint32_t most_bytes(const std::map<uint32_t, uint64_t>& held) {
  uint32_t out = 0;
  uint64_t most = 0;
  for (auto& [node, bytes] : held)
    if (out == 0 || bytes > most) {
      out = node;
      most = bytes;
    }
  return out;
}

} // namespace manta::detail
