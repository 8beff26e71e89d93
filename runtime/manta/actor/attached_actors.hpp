#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace manta::detail {

class actor_core;

/// The handles this driver attached to named actors on workers
/// (attached_actor.hpp, `find_on_head`), by their cores, so that `kill`
/// tells a kill of one (asked of its node and the head) from other kills.
/// A part of the runtime (`runtime::attached()`): a second `init` starts
/// with none; a kill after shutdown finds no runtime and none attached.
struct attached_actors {
  /// An attached handle's core and where its actor lives.
  struct entry {
    std::weak_ptr<actor_core> core; ///< tells it from a new core at its address
    uint16_t node = 0; ///< the worker that hosts the actor
    uint64_t id = 0; ///< the actor's id there
  };

  /// Guards `by_core`.
  std::mutex mtx;
  /// The attached handles, by core.
  std::map<const actor_core*, entry> by_core;
};

} // namespace manta::detail
