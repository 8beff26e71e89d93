#include "actors/node_manager.hpp"

#include "actors/atoms.hpp"
#include "manta/detail/worker_pool.hpp"

#include <caf/all.hpp>

namespace manta::actors {

caf::behavior node_manager(node_manager_actor* self, detail::worker_pool* pool) {
  self->state.pool = pool;
  return {
    [=](resources_atom) {
      auto [free, total] = self->state.pool->resources();
      return caf::make_message(std::move(free), std::move(total));
    },
  };
}

} // namespace manta::actors
