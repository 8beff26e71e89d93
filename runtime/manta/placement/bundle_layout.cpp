#include "manta/placement/bundle_layout.hpp"

#include "manta/resource_fit.hpp"

#include <algorithm>
#include <numeric>

namespace manta::detail {

namespace {

resource_map sum_of(const std::vector<resource_map>& bundles) {
  resource_map out;
  for (auto& b : bundles)
    for (auto& [name, amount] : b)
      out[name] += amount;
  return out;
}

void take(resource_map& room, const resource_map& bundle) {
  for (auto& [name, amount] : bundle)
    room[name] -= amount;
}

/// Bundle indices, the biggest (most CPUs, then most of anything) first.
std::vector<size_t> biggest_first(const std::vector<resource_map>& bundles) {
  auto weight = [&](size_t i) {
    double w = 0;
    for (auto& [name, amount] : bundles[i])
      w += name == cpu_resource ? amount * 1e6 : amount;
    return w;
  };
  std::vector<size_t> order(bundles.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return weight(a) > weight(b); });
  return order;
}

/// Kuhn's augmenting paths: tries to give bundle `b` a node of its own.
bool augment(size_t b, const std::vector<std::vector<size_t>>& fits, std::vector<int>& owner,
             std::vector<bool>& seen) {
  for (auto n : fits[b]) {
    if (seen[n])
      continue;
    seen[n] = true;
    if (owner[n] < 0 || augment(static_cast<size_t>(owner[n]), fits, owner, seen)) {
      owner[n] = static_cast<int>(b);
      return true;
    }
  }
  return false;
}

std::optional<std::vector<uint16_t>> one_per_node(const std::vector<resource_map>& bundles,
                                                  const std::vector<layout_node>& nodes) {
  if (bundles.size() > nodes.size())
    return std::nullopt;
  std::vector<std::vector<size_t>> fits(bundles.size());
  for (size_t b = 0; b < bundles.size(); ++b)
    for (size_t n = 0; n < nodes.size(); ++n)
      if (bundle_fits(bundles[b], nodes[n].room))
        fits[b].push_back(n);
  std::vector<int> owner(nodes.size(), -1);
  for (size_t b = 0; b < bundles.size(); ++b) {
    std::vector<bool> seen(nodes.size(), false);
    if (!augment(b, fits, owner, seen))
      return std::nullopt;
  }
  std::vector<uint16_t> out(bundles.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    if (owner[n] >= 0)
      out[static_cast<size_t>(owner[n])] = nodes[n].index;
  return out;
}

std::optional<std::vector<uint16_t>> all_on_one(const std::vector<resource_map>& bundles,
                                                const std::vector<layout_node>& nodes) {
  auto total = sum_of(bundles);
  for (auto& n : nodes)
    if (bundle_fits(total, n.room))
      return std::vector<uint16_t>(bundles.size(), n.index);
  return std::nullopt;
}

/// Greedy: each bundle, biggest first, on the node `pick` chooses among
/// those with room left (by position in `nodes`), or nullopt.
template <class Pick>
std::optional<std::vector<uint16_t>> greedy(const std::vector<resource_map>& bundles,
                                            const std::vector<layout_node>& nodes, Pick pick) {
  std::vector<resource_map> room;
  for (auto& n : nodes)
    room.push_back(n.room);
  std::vector<size_t> count(nodes.size(), 0);
  std::vector<uint16_t> out(bundles.size());
  for (auto b : biggest_first(bundles)) {
    std::vector<size_t> candidates;
    for (size_t n = 0; n < nodes.size(); ++n)
      if (bundle_fits(bundles[b], room[n]))
        candidates.push_back(n);
    if (candidates.empty())
      return std::nullopt;
    auto n = pick(candidates, count);
    take(room[n], bundles[b]);
    ++count[n];
    out[b] = nodes[n].index;
  }
  return out;
}

} // namespace

bool bundle_fits(const resource_map& bundle, const resource_map& room) {
  return amounts_fit(bundle, room);
}

std::optional<std::vector<uint16_t>> lay_out(const std::vector<resource_map>& bundles,
                                             placement_strategy strategy,
                                             const std::vector<layout_node>& nodes) {
  if (bundles.empty())
    return std::vector<uint16_t>{};
  switch (strategy) {
    case placement_strategy::strict_pack:
      return all_on_one(bundles, nodes);
    case placement_strategy::pack:
      if (auto one = all_on_one(bundles, nodes))
        return one;
      return greedy(bundles, nodes,
                    [](const std::vector<size_t>& c, const std::vector<size_t>&) { return c[0]; });
    case placement_strategy::strict_spread:
      return one_per_node(bundles, nodes);
    case placement_strategy::spread:
      if (auto apart = one_per_node(bundles, nodes))
        return apart;
      return greedy(bundles, nodes, [](const std::vector<size_t>& c, const std::vector<size_t>& n) {
        return *std::min_element(c.begin(), c.end(),
                                 [&](size_t a, size_t b) { return n[a] < n[b]; });
      });
  }
  return std::nullopt;
}

} // namespace manta::detail
