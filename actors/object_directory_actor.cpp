#include "actors/object_directory_actor.hpp"

namespace manta::actors {

void directory_door::add(uint64_t id, uint16_t node, const std::weak_ptr<const void>& alive) {
  std::lock_guard<std::mutex> guard{mtx_};
  dir_.add(id, node, alive);
}

std::vector<uint16_t> directory_door::copies(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return dir_.copies(id);
}

void directory_door::balance(uint64_t id, std::vector<uint16_t>& holders, size_t active,
                             const std::weak_ptr<const void>& alive) {
  std::lock_guard<std::mutex> guard{mtx_};
  dir_.balance(id, holders, active, alive);
}

std::vector<uint16_t> directory_door::erase(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  return dir_.erase(id);
}

swept_copies directory_door::sweep() {
  std::lock_guard<std::mutex> guard{mtx_};
  return dir_.sweep();
}

size_t directory_door::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return dir_.size();
}

caf::behavior object_directory_behavior(object_directory_actor* self,
                                        std::shared_ptr<directory_door> door) {
  self->state.door = door;
  return {
    [=](copy_add_atom, uint64_t id, uint16_t node, const std::weak_ptr<const void>& alive) {
      door->add(id, node, alive);
    },
    [=](copy_held_atom, uint64_t id, uint16_t node) {
      return door->locked([&](object_directory& d) { return d.confirm(id, node); });
    },
    [=](copy_gone_atom, uint64_t id, uint16_t node) {
      door->locked([&](object_directory& d) { d.remove(id, node); });
    },
    [=](copy_settle_atom, uint64_t id, uint16_t node) {
      door->locked([&](object_directory& d) { d.settle(id, node); });
    },
    [=](copies_atom, uint64_t id) { return door->copies(id); },
    [=](node_lost_atom, uint16_t node) {
      door->locked([&](object_directory& d) { d.drop_node(node); });
    },
    [=](copy_erase_atom, uint64_t id) { return door->erase(id); },
    [=](copy_sweep_atom) { return door->sweep(); },
  };
}

} // namespace manta::actors
