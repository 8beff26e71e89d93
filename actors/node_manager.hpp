#pragma once

#include "manta/resources.hpp"

#include <caf/stateful_actor.hpp>

namespace manta::detail {
class worker_pool;
}

namespace manta::actors {

struct node_manager_state {
  detail::worker_pool* pool = nullptr;

  static inline const char* name = "manta.node_manager";
};

using node_manager_actor = caf::stateful_actor<node_manager_state>;

/// The node's control-plane endpoint: answers what the node has and what is
/// free. Local tasks take their leases from the node's worker_pool directly
/// (a message round trip per task would cost more than most tasks); this
/// actor is where other actors and, in a cluster, other nodes ask.
caf::behavior node_manager(node_manager_actor* self, detail::worker_pool* pool);

} // namespace manta::actors
