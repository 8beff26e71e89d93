#pragma once

#include <caf/actor.hpp>

namespace manta::detail {

/// Where this process sends its own messages for other nodes (a borrowed
/// ref's or a lent handle's news): its node manager on a worker, its
/// cluster client on a driver; null outside a cluster.
caf::actor node_router();

} // namespace manta::detail
