#include "manta/cluster/object_directory.hpp"

#include <algorithm>

namespace manta::actors {

namespace {

void add_once(std::vector<uint16_t>& nodes, uint16_t node) {
  if (std::find(nodes.begin(), nodes.end(), node) == nodes.end())
    nodes.push_back(node);
}

void drop(std::vector<uint16_t>& nodes, uint16_t node) {
  nodes.erase(std::remove(nodes.begin(), nodes.end(), node), nodes.end());
}

} // namespace

void object_directory::add(uint64_t id, uint16_t node, const std::weak_ptr<const void>& alive) {
  auto& r = records_[id];
  if (r.alive.expired())
    r.alive = alive;
  add_once(r.nodes, node);
}

bool object_directory::confirm(uint64_t id, uint16_t node) {
  auto i = records_.find(id);
  if (i == records_.end() || i->second.alive.expired())
    return false;
  add_once(i->second.nodes, node);
  add_once(i->second.confirmed, node);
  return true;
}

void object_directory::remove(uint64_t id, uint16_t node) {
  auto i = records_.find(id);
  if (i == records_.end())
    return;
  drop(i->second.nodes, node);
  drop(i->second.confirmed, node);
}

void object_directory::settle(uint64_t id, uint16_t node) {
  auto i = records_.find(id);
  if (i == records_.end())
    return;
  auto& confirmed = i->second.confirmed;
  if (std::find(confirmed.begin(), confirmed.end(), node) == confirmed.end())
    drop(i->second.nodes, node);
}

std::vector<uint16_t> object_directory::copies(uint64_t id) const {
  auto i = records_.find(id);
  return i == records_.end() ? std::vector<uint16_t>{} : i->second.nodes;
}

void object_directory::balance(uint64_t id, std::vector<uint16_t>& holders, size_t active,
                               const std::weak_ptr<const void>& alive) {
  auto& r = records_[id];
  if (r.alive.expired())
    r.alive = alive;
  std::stable_sort(holders.begin(), holders.end(),
                   [&](uint16_t x, uint16_t y) { return r.named[x] < r.named[y]; });
  for (size_t k = 0; k < std::min(active, holders.size()); ++k)
    ++r.named[holders[k]];
}

void object_directory::drop_node(uint16_t node) {
  for (auto& [id, r] : records_) {
    drop(r.nodes, node);
    drop(r.confirmed, node);
    r.named.erase(node);
  }
}

std::vector<uint16_t> object_directory::erase(uint64_t id) {
  auto i = records_.find(id);
  if (i == records_.end())
    return {};
  auto nodes = std::move(i->second.nodes);
  records_.erase(i);
  return nodes;
}

std::vector<std::pair<uint64_t, std::vector<uint16_t>>> object_directory::sweep() {
  std::vector<std::pair<uint64_t, std::vector<uint16_t>>> gone;
  for (auto i = records_.begin(); i != records_.end();) {
    if (i->second.alive.expired()) {
      gone.emplace_back(i->first, std::move(i->second.nodes));
      i = records_.erase(i);
    } else {
      ++i;
    }
  }
  return gone;
}

} // namespace manta::actors
