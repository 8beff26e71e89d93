#include "actors/actor_host.hpp"

#include "actors/atoms.hpp"
#include "manta/actor/actor_core.hpp"

#include <caf/all.hpp>

namespace manta::actors {

caf::behavior actor_host(actor_host_actor* self, std::shared_ptr<detail::actor_core> core) {
  self->state.core = std::move(core);
  return {
    [=](ready_atom) { self->state.core->on_dep_ready(); },
    [=](resume_atom, uint64_t key, bool claimed) { detail::wake_arrived(key, claimed); },
  };
}

} // namespace manta::actors
