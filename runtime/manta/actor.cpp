#include "manta/actor.hpp"

#include "manta/actor/actor_core.hpp"

namespace manta {

void exit_actor() {
  if (detail::current_actor() == nullptr)
    throw invalid_argument_error("manta::exit_actor() was called outside an actor method; "
                                 "to stop an actor from outside use manta::kill(handle)");
  throw detail::actor_exit_request{};
}

bool was_restarted() noexcept {
  return restart_count() > 0;
}

int restart_count() noexcept {
  auto* core = detail::current_actor();
  return core == nullptr ? 0 : core->restarts();
}

} // namespace manta
