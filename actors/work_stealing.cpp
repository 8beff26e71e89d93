#include "actors/cluster_client_internal.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/sched/worker_pool.hpp"

#include <caf/all.hpp>

#include <cmath>

// Why stealing, not late binding (docs/cluster.md, "Queued tasks and work
// stealing"): a worker is sent up to 64 tasks per CPU so that the round
// trip stays hidden and specs travel in batches (remote_queue_factor); a
// driver that held tasks back until a slot is free would pay a round trip
// per task. Stealing costs nothing while every node is busy and moves
// tasks only when a node has a free CPU while another's queue waits.

namespace manta::actors {

using namespace detail;

void on_queue_news(self_ptr self, uint16_t node, const wire::bytes& bytes) {
  auto& st = self->state;
  wire::queue_message m;
  if (!wire::decode(bytes, m).empty())
    return; // the view stays as it was; the tasks run anyway
  auto* n = st.nodes.find(node);
  if (n == nullptr)
    return;
  for (auto id : m.queued)
    if (auto* p = st.tasks.on(id, node)) {
      n->queued.insert(id);
      if (p->task)
        task_events::on_waiting_for_resources(*p->task);
    }
  for (auto id : m.started)
    if (auto* p = st.tasks.on(id, node)) {
      n->queued.erase(id);
      if (p->task)
        task_events::on_remote_start(*p->task);
    }
}

namespace {

/// Whether `d` fits what is free now on worker `n` as this driver books it.
bool fits_free(const remote_node& n, const resource_demand& d) {
  if (!n.manager || !n.queued.empty() || n.busy_cpus + d.cpus > n.info.cpus + 1e-9)
    return false;
  for (auto& [name, amount] : d.custom) {
    auto total = n.custom.find(name);
    auto busy = n.busy_custom.find(name);
    if (total == n.custom.end()
        || (busy == n.busy_custom.end() ? 0 : busy->second) + amount > total->second + 1e-9)
      return false;
  }
  return true;
}

} // namespace

void steal_for_idle(self_ptr self) {
  auto& st = self->state;
  bool any = false;
  for (auto& [_, n] : st.nodes)
    any = any || (!n.queued.empty() && !n.stealing && n.manager);
  if (!any)
    return;
  // Where a stolen task could start now: a worker with nothing of this
  // driver's queued and room, or this node's free resources.
  auto [free_here, total_here] = st.link->pool().resources();
  auto cpus_here = free_here[cpu_resource];
  free_here.erase(cpu_resource);
  // Asked for each queued task after each result, while nothing it reads
  // changes: the tasks of a burst share one demand, so the last answer is
  // kept for the next task that asks the same.
  const resource_demand* asked = nullptr;
  bool answer = false;
  auto startable = [&](const resource_demand& d) {
    if (asked != nullptr && *asked == d)
      return answer;
    asked = &d;
    answer = d.fits_in(cpus_here, free_here);
    for (auto& [_, n] : st.nodes)
      answer = answer || fits_free(n, d);
    return answer;
  };
  for (auto& [index, n] : st.nodes) {
    if (n.queued.empty() || n.stealing || !n.manager)
      continue;
    // Half its queue (classic work stealing: the victim keeps the rest),
    // newest first, leaving the tasks whose large arguments are there
    // (locality: they run where their bytes are) and those that could not
    // start anywhere else now (they would come straight back).
    wire::queue_message req;
    req.limit = static_cast<uint32_t>((n.queued.size() + 1) / 2);
    for (auto i = n.queued.rbegin(); i != n.queued.rend(); ++i) {
      auto* p = st.tasks.find(*i);
      if (p != nullptr && p->task && p->prefer != index
          && p->task->opts.strategy.kind == scheduling_strategy::default_placement
          && startable(p->demand))
        req.queued.push_back(*i);
    }
    if (req.queued.empty())
      continue;
    n.stealing = true;
    self->send(n.manager, steal_atom::value, st.link->token(), wire::encode(req));
  }
}

void on_stolen(self_ptr self, uint16_t node, const wire::bytes& bytes) {
  auto& st = self->state;
  auto* n = st.nodes.find(node);
  if (n == nullptr)
    return;
  n->stealing = false;
  wire::queue_message m;
  if (!wire::decode(bytes, m).empty())
    return;
  for (auto id : m.queued) {
    auto* there = st.tasks.on(id, node);
    if (there == nullptr || !there->task)
      continue;
    // Answered on its lane meanwhile, and sealed by the lane's reader: the
    // answer wins (task_lanes.hpp).
    if (there->by_lane && !st.lanes.claim(id))
      continue;
    auto& p = *there;
    hold(*n, p.demand, -1);
    n->queued.erase(id);
    for (auto& [object, alive] : p.reads)
      self->send(st.directory, copy_settle_atom::value, object, node); // it never read them
    p.node = 0;
    p.count_dispatch(-1);
    task_events::on_undispatched(*p.task);
    auto task = p.task;
    if (st.link->pool().try_schedule(task)) { // this node has a free CPU
      st.tasks.erase(id);
      continue;
    }
    place_or_wait(self, id);
  }
}

} // namespace manta::actors
