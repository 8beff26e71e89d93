#include "manta/cluster/owner_book.hpp"

#include "manta/object_id.hpp"

namespace manta::actors {

bool owner_book::seen(const caf::actor_addr& owner, uint64_t id) {
  auto& e = owners_[owner];
  if (auto node = object_id{id}.node(); node != 0)
    e.left.node = node;
  e.closed = 0; // back: no sweep
  if (e.watched)
    return false;
  e.watched = true;
  return true;
}

std::optional<caf::actor_addr> owner_book::owner_on(uint16_t node) const {
  for (auto& [addr, e] : owners_)
    if (e.left.node == node && e.watched)
      return addr;
  return std::nullopt;
}

void owner_book::held(const caf::actor_addr& owner, uint64_t id) {
  owners_[owner].left.results.insert(id);
}

void owner_book::freed(const caf::actor_addr& owner, uint64_t id) {
  if (auto i = owners_.find(owner); i != owners_.end())
    i->second.left.results.erase(id);
}

uint64_t owner_book::closed(const caf::actor_addr& owner) {
  auto& e = owners_[owner];
  e.watched = false;
  e.closed = ++next_ticket_;
  return e.closed;
}

std::optional<gone_owner> owner_book::sweep(const caf::actor_addr& owner, uint64_t ticket) {
  auto i = owners_.find(owner);
  if (i == owners_.end() || i->second.closed != ticket)
    return std::nullopt;
  auto left = std::move(i->second.left);
  owners_.erase(i);
  return left;
}

} // namespace manta::actors
