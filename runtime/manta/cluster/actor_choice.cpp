#include "manta/cluster/actor_choice.hpp"

#include <algorithm>

namespace manta::detail {

bool actor_stays_local(const scheduling_strategy& where, bool driver, uint32_t here, bool fits_here,
                       bool fits_elsewhere, size_t workers, size_t spread_turn) {
  if (!driver)
    return true;
  switch (where.kind) {
    case scheduling_strategy::node_affinity:
      return where.node == here;
    case scheduling_strategy::spread:
      // Round robin over this node and the others, as tasks spread.
      return spread_turn % (workers + 1) == 0;
    default:
      return fits_here || !fits_elsewhere;
  }
}

node_choice choose_actor_node(const scheduling_strategy& where, std::span<const node_view> others,
                              uint32_t& spread_last) {
  using k = node_choice;
  if (where.kind == scheduling_strategy::node_affinity) {
    auto it = std::lower_bound(others.begin(), others.end(), where.node,
                               [](const node_view& n, uint32_t i) { return n.index < i; });
    if (it != others.end() && it->index == where.node && it->can_fit)
      return {k::run_on, it->index};
    if (!where.soft)
      return {k::pinned_away, static_cast<uint32_t>(where.node)};
  } else if (where.kind == scheduling_strategy::spread && !others.empty()) {
    auto start = std::upper_bound(others.begin(), others.end(), spread_last,
                                  [](uint32_t i, const node_view& n) { return i < n.index; })
                 - others.begin();
    for (size_t j = 0; j < others.size(); ++j) {
      auto& n = others[(static_cast<size_t>(start) + j) % others.size()];
      if (n.can_fit) {
        spread_last = n.index;
        return {k::run_on, n.index};
      }
    }
  }
  const node_view* best = nullptr;
  for (auto& n : others)
    if (n.can_fit && (best == nullptr || n.load < best->load))
      best = &n;
  return best != nullptr ? node_choice{k::run_on, best->index} : node_choice{k::nowhere, 0};
}

} // namespace manta::detail
