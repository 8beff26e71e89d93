#pragma once

#include <caf/actor.hpp>

/// The local core's door for news other nodes must hear: "a reference
/// changed" (a borrowed ref or a lent actor handle made or dropped, a lent
/// object sealed, a generator item taken). The local core (store, sched,
/// actor) includes no cluster code (issue 22): it asks these functions,
/// declared here by the code that needs them and implemented by the
/// cluster (cluster/node_messages.cpp), which alone knows this node's role.
namespace manta::detail {

class runtime;

/// Where this process sends its own messages for other nodes: its node
/// manager on a worker, its cluster client on a driver; null outside a
/// cluster (or after it left it).
caf::actor node_router();

/// Whether `rt` is a worker node of a cluster: it passes a ref or a handle
/// lent to it on as its owner's (it reached the worker from its owner, and
/// the receiver reports back over the same link), where a driver lends it
/// as its own.
bool cluster_worker(runtime& rt);

} // namespace manta::detail
