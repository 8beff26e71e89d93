#pragma once

#include "manta/cluster/node_choice.hpp"
#include "manta/cluster/remote_actor.hpp"
#include "manta/resources.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::detail {
class actor_core;
} // namespace manta::detail

namespace manta::actors {

/// An actor this driver placed on a worker node.
struct placed_actor {
  std::weak_ptr<detail::actor_core> core;
  uint16_t node = 0;
  detail::resource_demand demand;
  /// Until the node answered the ActorSpec, and when it was sent: a node
  /// that has not answered within twice the connection timeout fails it.
  detail::create_request_ptr creating;
  std::chrono::steady_clock::time_point asked;
  /// Set once created, for a named actor: the head records where it lives
  /// (docs/cluster.md, "Head fault tolerance").
  std::string name, ns;
  /// A handle attached to an actor another driver created (found by name
  /// through the head): letting go of it leaves the actor where it is.
  bool attached = false;
};

/// The driver's actors on worker nodes: where each was placed, the calls
/// of them on their way, the creations waiting for a worker, and where the
/// last SPREAD actor went. The steps that place actors and carry their
/// calls are cluster_actors.cpp's; they hold no other state of their own.
class remote_actors {
public:
  using clock = std::chrono::steady_clock;

  // -- actors placed on workers -------------------------------------------------

  /// Actor `id`'s record, or null if this driver placed none (or let go).
  placed_actor* find(uint64_t id);

  /// Actor `id`'s record, made if there is none (it is placed or attached
  /// now).
  placed_actor& record(uint64_t id);

  /// Forgets actor `id` (let go of, or refused by its node).
  void erase(uint64_t id);

  /// The driver's runtime shuts down: its detached actors on workers are
  /// let go of like handles of another driver's actors (they stay where
  /// they are) instead of killed.
  void keep_detached();

  /// Node `node` is gone: its actors, being created or created there, are
  /// taken out (for the client to fail or restart them).
  std::vector<placed_actor> take_on(uint16_t node);

  /// Calls `f(id, actor)` for each actor created on a worker.
  template <class F>
  void for_each_created(F&& f) const {
    for (auto& [id, a] : actors_)
      if (!a.creating)
        f(id, a);
  }

  /// The actors whose creation was sent longer than `limit` before `now`
  /// and is unanswered (id, node).
  std::vector<std::pair<uint64_t, uint16_t>> unanswered(clock::time_point now,
                                                        clock::duration limit) const;

  /// Where a new actor goes among `others` (cluster/actor_choice.hpp),
  /// SPREAD going on after the worker that took the last one.
  detail::node_choice choose(const scheduling_strategy& where,
                             std::span<const detail::node_view> others);

  // -- calls on their way -------------------------------------------------------

  /// Call `req` (result `id`) was sent to its actor's node.
  void add_call(uint64_t id, detail::call_request_ptr req);

  /// The call result `id` answers, taken out; null if none does.
  detail::call_request_ptr take_call(uint64_t id);

  /// The node call `id` was sent to, or 0 if it is not on its way.
  uint16_t call_node(uint64_t id) const;

  /// Node `node` is gone: its calls are forgotten (their actors die with
  /// it and fail or re-run them).
  void drop_calls_on(uint16_t node);

  // -- creations waiting for a worker ------------------------------------------

  /// Creation `req` waits: no connected worker can take it now, but one
  /// being reconnected (or a placement group being reserved) could.
  void defer(detail::create_request_ptr req);

  /// The waiting creations, taken out to be tried again (a worker came
  /// back or will not).
  std::vector<detail::create_request_ptr> take_deferred();

  /// The waiting creations older than `window` at `now`, taken out to fail.
  std::vector<detail::create_request_ptr> take_expired(clock::time_point now,
                                                       clock::duration window);

private:
  /// Actors placed on workers, by actor id.
  std::unordered_map<uint64_t, placed_actor> actors_;
  /// Calls of those actors on their way, by result id.
  std::unordered_map<uint64_t, detail::call_request_ptr> calls_;
  /// The worker that took the last SPREAD actor.
  uint16_t spread_last_ = 0;
  std::vector<detail::create_request_ptr> deferred_;
};

} // namespace manta::actors
