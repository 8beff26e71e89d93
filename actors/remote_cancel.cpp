// Cancels that cross nodes: the owner tells the worker it sent a task or an
// actor call to, and the worker cancels its run there.
#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "actors/node_manager.hpp"
#include "manta/cancel.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/core/runtime.hpp"

#include <caf/all.hpp>

#include <cstdio>

namespace manta::actors {

void forward_cancel(cluster_client_actor* self, uint64_t id, bool force, bool recursive) {
  auto& st = self->state;
  uint16_t node = 0;
  bool by_lane = false;
  if (auto* p = st.tasks.find(id)) {
    node = p->node; // 0 while it waits for a node: it never goes
    by_lane = p->by_lane;
  } else
    node = st.actors.call_node(id);
  auto* n = st.nodes.connected(node);
  if (node == 0 || n == nullptr)
    return; // not out, or its node is gone (and the task with it)
  // A task sent on the task lane: its cancel goes behind it there.
  if (by_lane && lane_cancel(self, node, id, force, recursive))
    return;
  // Its spec may still wait in the outbox: it goes first, so the worker
  // has the task when the cancel arrives (both travel on one connection).
  st.specs.flush(self, st.link->token(), submit_atom::value, submits_atom::value);
  self->send(n->manager, cancel_atom::value, st.link->token(), id, force, recursive);
}

void cancel_hosted(node_manager_actor* self, uint64_t id, bool force, bool recursive) {
  auto i = self->state.running.find(id);
  if (i == self->state.running.end() || i->second.result->done())
    return; // finished (its result is on its way) or never got here
  auto& h = i->second;
  auto result = h.result;
  cancel_options opts{false, recursive};
  if (h.actor != 0) {
    auto a = self->state.actors.find(h.actor);
    if (a != self->state.actors.end())
      a->second.anchor->core->cancel_call(*result, opts);
    return;
  }
  auto task = result->producer();
  if (force && task && task->attempts.load(std::memory_order_relaxed) > 0)
    // The owner could not tell it had started: it is cancelled as without
    // force, and this node says why force could not end it.
    detail::log_line(log_level::warning,
                     "manta: %s: cancel with force = true of task '%s': it is running on a thread "
                     "of this node's process, shared with other tasks and actors, and cannot be "
                     "ended without ending them; it was cancelled without force "
                     "(manta::cancelled() is true inside it)\n",
                     detail::runtime::node_name().c_str(), task->name().c_str());
  detail::cancel(result, opts);
}

} // namespace manta::actors
