// What a worker's node manager does with what an owner left here when the
// owner's connection closes and it does not come back (owner_book.hpp).
#include "actors/cluster_atoms.hpp"
#include "actors/node_manager.hpp"
#include "manta/cancel.hpp"
#include "manta/store/object_store.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/core/job_id.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/core/caf_config.hpp"
#include "manta/core/runtime.hpp"
#include "manta/object_id.hpp"

#include <caf/all.hpp>

#include <cstdio>
#include <vector>

namespace manta::actors {

void watch_owner(node_manager_actor* self, const caf::actor& owner, uint64_t id,
                 const std::string& job) {
  detail::note_job(object_id{id}.node(), job); // the job of its tasks and actors here
  if (owner && self->state.owners.seen(owner.address(), id))
    self->monitor(owner);
}

void owner_closed(node_manager_actor* self, const caf::actor_addr& owner) {
  std::vector<uint64_t> orphans;
  size_t kept = 0;
  for (auto& [id, a] : self->state.actors)
    if (a.owner.address() == owner) {
      if (a.detached)
        ++kept;
      else
        orphans.push_back(id);
    }
  for (auto id : orphans)
    drop_actor(self, id);
  // Said once per owner that had actors here: a driver that froze or lost
  // its link restarts them itself once it is back (max_restarts).
  if (!orphans.empty() || kept > 0)
    detail::log_line(log_level::warning,
                     "manta: %s: the connection to the owner of %zu actor(s) here closed; they "
                     "are dropped (but %zu detached one(s), kept until killed), and their owner "
                     "restarts them if it comes back\n",
                     detail::runtime::node_name().c_str(), orphans.size() + kept, kept);
  auto ticket = self->state.owners.closed(owner);
  // As long as a hung link takes to close on both ends: an owner whose
  // connection was cut connects again well within it (its first try after
  // half of it), and a paused driver that resumes within it keeps its work.
  auto grace = detail::connection_timeout(self->system());
  self->delayed_send(self, grace, sweep_atom::value, owner, ticket);
}

void sweep_owner(node_manager_actor* self, const caf::actor_addr& owner, uint64_t ticket) {
  auto left = self->state.owners.sweep(owner, ticket);
  if (!left)
    return;
  // Its tasks and calls still here: nobody reads their results. Queued
  // tasks are cancelled (the pool drops them unrun); a running one is told
  // (manta::cancelled()) and its result, when it ends, is dropped since it
  // is no longer tracked here.
  std::vector<hosted_task> orphans;
  auto& running = self->state.running;
  for (auto i = running.begin(); i != running.end();) {
    if (i->second.owner.address() == owner) {
      orphans.push_back(std::move(i->second));
      i = running.erase(i);
    } else {
      ++i;
    }
  }
  size_t cancelled = 0;
  for (auto& h : orphans) {
    auto result = h.result;
    if (result && h.waiter) // its end must not reach this manager
      result->remove_waiter(h.waiter.get());
    h.waiter.reset();
    if (h.actor == 0 && result && !result->done()) {
      detail::cancel(result);
      ++cancelled;
    }
  }
  size_t freed = 0;
  auto& held = detail::runtime::here().store().held();
  for (auto id : left->results)
    freed += held.erase(id);
  if (left->node != 0) {
    freed += held.erase_node(left->node);
    // It borrowed no more: the objects and actors lent to it are unpinned.
    detail::lent_node_gone(left->node);
    // Its placement groups' bundles here (hosted_bundles.hpp).
    detail::runtime::here().hosted().release_owner(left->node);
  }
  if (!orphans.empty() || freed > 0)
    detail::log_line(log_level::warning,
                     "manta: %s: the owner (node %u) of %zu task(s) here (%zu cancelled) and %zu "
                     "held object byte(s) did not come back within the connection timeout: all "
                     "dropped\n",
                     detail::runtime::node_name().c_str(), unsigned{left->node}, orphans.size(),
                     cancelled, freed);
}

} // namespace manta::actors
