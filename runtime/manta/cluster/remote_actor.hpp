#pragma once

#include "manta/actor/far_actors.hpp"
#include "manta/actor_options.hpp"
#include "manta/actor/actor_call.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/net/wire.hpp"

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <utility>

/// Actors placed on other nodes, as their owner (the driver that created
/// them) sees them. The owner keeps an ordinary actor_core: it queues the
/// calls, waits for their object arguments, keeps their order, counts
/// restarts and fails calls with actor_died_error. Only its instance is
/// different: a `remote_actor` naming the node and the id under which that
/// node's node_manager hosts the real object (in its own actor_core). A
/// call is encoded as a TaskSpec naming the actor and sent there; its
/// result completes the call like an async method's (see
/// docs/cluster.md, "Actors").
namespace manta::detail {

class actor_core;
struct actor_class_info;

/// The owner's stand-in for an instance on another node. Dropping it (the
/// actor died, restarts elsewhere, or lost its last handle) tells that
/// node to drop its instance.
struct remote_actor {
  remote_actor(uint16_t where, uint64_t actor_id) : node(where), id(actor_id) {}
  ~remote_actor();

  remote_actor(const remote_actor&) = delete;
  remote_actor& operator=(const remote_actor&) = delete;

  const uint16_t node;
  const uint64_t id;
  /// The refs and actor handles written in the constructor arguments that
  /// made this instance (contained_refs.hpp): pinned while it lives, so one
  /// that no node read (its creation failed there or was never placed) is
  /// let go when it dies; the node that read them counts as a borrower.
  contained_refs ctor_args;
};

/// An actor the cluster client is to place on some node: answered through
/// `done` with the node, or with an error text.
struct actor_create_request {
  uint64_t actor_id = 0;
  wire::bytes spec; ///< the encoded ActorSpec
  resource_demand demand;
  scheduling_strategy where;
  /// Killed (and so restarted elsewhere, if it may) when its node dies.
  std::weak_ptr<actor_core> core;
  /// When it was asked for: it waits for a worker being reconnected for
  /// `reconnect_window` at most (actors/cluster_actors.hpp, expire_creates).
  std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
  std::promise<std::pair<std::string, uint16_t>> done;
  /// A restart (an earlier instance died): with no live node that fits, it
  /// waits for one to join instead of failing (expire_creates bounds it).
  bool restart = false;
  /// Non-zero: nothing is created; the handle attaches to actor `actor_id`
  /// living on this node already (attached_actor.hpp).
  uint16_t attach = 0;
};

/// A driver's question to the head about a named actor another driver
/// created (answered through `done` with the head's record, or with an
/// error text); with `kill`, the kill of an attached handle's actor on
/// `node`; with `leaving`, the driver shuts down: its detached actors on
/// workers stay there (no answer to either). In-process only: the pointer
/// cannot come from another node.
struct named_actor_request {
  std::string ns, name;
  uint16_t node = 0;
  uint64_t id = 0;
  bool kill = false;
  bool leaving = false;
  std::promise<std::pair<std::string, std::string>> done;
};

/// A call on its way to an actor on another node; the cluster client
/// completes `ctx` when the result arrives.
struct remote_call_request {
  run_context ctx;
  std::shared_ptr<actor_core> keep; ///< the core stays while the call is out
  uint16_t node = 0;
  wire::bytes spec; ///< the encoded TaskSpec (actor_id set)
  /// The refs written inside its arguments: pinned until the request goes
  /// (its result arrived, after the +1s of the node that read them, or it
  /// failed). A worker's calls go to a driver, whose +1s and result leave
  /// from two actors in no set order: the worker keeps these pins after
  /// the result until the driver echoes `args_read_delta` on the route of
  /// its +1s (forwarded_calls.cpp).
  contained_refs lent;
};

using create_request_ptr = std::shared_ptr<actor_create_request>;
using call_request_ptr = std::shared_ptr<remote_call_request>;
using named_request_ptr = std::shared_ptr<named_actor_request>;

/// The cluster's side of the actor engine's door (actor/far_actors.hpp:
/// place, create, call, cancel, restart_wait) is implemented in
/// remote_actor.cpp; this is what the cluster client sets for
/// `restart_wait`.
void set_restart_wait(uint64_t core_id, std::string what);

} // namespace manta::detail
