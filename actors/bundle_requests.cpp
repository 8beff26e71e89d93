#include "actors/node_manager.hpp"

#include "manta/placement/hosted_bundles.hpp"
#include "manta/net/wire.hpp"
#include "manta/core/runtime.hpp"

#include <caf/all.hpp>

namespace manta::actors {

std::string prepare_bundles(node_manager_actor* self, const std::vector<char>& request) {
  detail::wire::bundle_message m;
  if (auto err = detail::wire::decode(request, m); !err.empty())
    return err;
  // The group id is an object id of the owner: its node is in the high bits.
  watch_owner(self, caf::actor_cast<caf::actor>(self->current_sender()), m.group);
  return detail::runtime::here().hosted().prepare(m.group, m.bundles, m.owner);
}

} // namespace manta::actors
