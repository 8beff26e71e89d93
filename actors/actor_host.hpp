#pragma once

#include <caf/stateful_actor.hpp>

#include <memory>

namespace manta::detail {
class actor_core;
}

namespace manta::actors {

struct actor_host_state {
  std::shared_ptr<detail::actor_core> core;

  static inline const char* name = "manta.actor";
};

using actor_host_actor = caf::stateful_actor<actor_host_state>;

/// The CAF actor of one Manta actor: where its asynchronous events arrive.
/// Sealed arguments of queued calls (`ready`), coroutine wake-ups of async
/// methods after `co_await ref` and timers of `co_await sleep_for(d)`
/// (`resume`, sent with CAF's delayed_send) all come here as messages and
/// are passed to the actor's core, which schedules the work on the pool.
/// It never runs user code; it lives until the actor dies for good.
///
/// Calls themselves do not pass through this actor's mailbox: callers
/// queue them in the core directly, because one message per call would
/// cap calls at CAF's request/response rate before any work is done.
caf::behavior actor_host(actor_host_actor* self, std::shared_ptr<detail::actor_core> core);

} // namespace manta::actors
