// Placing the simulation's tasks and actors on virtual nodes, and sending
// each there: tasks by the cluster's own rule (node_choice.hpp), actors by
// the simulator's.

#include "manta/detail/sim_world.hpp"

#include "manta/detail/actor_core.hpp"
#include "manta/detail/actor_job.hpp"
#include "manta/detail/node_choice.hpp"

#include <map>

namespace manta::detail::sim {

void world::place_ready() {
  // First in, first placed: a task that fits nowhere holds back the ones
  // behind it, as the pool's queue does.
  while (!ready_.empty()) {
    if (ready_.front()->cancelled()) {
      ready_.pop_front();
      continue;
    }
    if (!try_place(ready_.front()))
      return;
    ready_.pop_front();
  }
}

bool world::try_place(task_ptr& t) {
  auto* job = dynamic_cast<actor_job*>(t.get());
  if (job == nullptr)
    return place_task(t);
  auto it = actor_node_.find(job->lease_owner());
  if (it == actor_node_.end() || job->keeps_lease)
    return place_actor(t, *job); // its constructor
  auto r = std::make_shared<run_rec>();
  r->task = std::move(t);
  r->actor = true;
  if (!nodes_[it->second].alive) {
    // Its node died and nobody noticed yet: the job waits for `detect`,
    // which kills the actor first, so it runs on a stale epoch.
    r->node = it->second;
    r->over = true;
    doomed_[it->second].push_back(std::move(r));
    return true;
  }
  start(r, it->second);
  return true;
}

node_view world::view_of(uint32_t n, uint32_t from, double need) const {
  auto& node = nodes_[n];
  node_view v{n, node.alive && opts_.cpus_per_node >= need, false,
              1.0 - node.free_cpus / opts_.cpus_per_node};
  v.has_room = v.can_fit && reachable(from, n) && node.free_cpus >= need;
  return v;
}

bool world::place_task(task_ptr& t) {
  double need = t->opts.resources.cpus;
  auto& where = t->opts.strategy;
  bool hard = where.kind == scheduling_strategy::node_affinity && !where.soft;
  if (!hard && need > free_sum_)
    return false; // no node has room: the rule could only say wait
  uint32_t from = current_node();
  views_.clear();
  for (uint32_t n = 0; n < nodes_.size(); ++n)
    if (n != from)
      views_.push_back(view_of(n, from, need));
  placement_ask ask{where, view_of(from, from, need), 0};
  if (opts_.latency.count() > 0 || opts_.bandwidth > 0) {
    // Locality: the node holding most of its object arguments' bytes.
    std::map<uint32_t, uint64_t> held;
    std::lock_guard guard{produced_mtx_};
    for (auto& dep : t->deps)
      if (auto it = produced_.find(dep.get()); it != produced_.end() && it->second.node != from)
        held[it->second.node] += it->second.bytes;
    ask.prefer = most_bytes(held);
  }
  auto choice = choose_node(ask, views_, spread_last_[from]);
  uint32_t node = choice.node;
  switch (choice.kind) {
    case node_choice::run_on:
      break;
    case node_choice::queue_local:
      // The world's queue is every node's: the task waits in it until the
      // local node has room.
      if (!ask.local->has_room)
        return false;
      break;
    case node_choice::wait:
    case node_choice::nowhere: // a node may be revived
      return false;
    case node_choice::pinned_away:
      fail(*t, node < nodes_.size()
                 ? "it is pinned to " + node_name(node) + ", which is dead"
                 : "it is pinned to node " + std::to_string(node) + ", and the simulation has "
                     + std::to_string(nodes_.size()) + " nodes");
      return true; // placed nowhere, but out of the queue
  }
  auto r = std::make_shared<run_rec>();
  r->task = std::move(t);
  r->cpus = need;
  nodes_[node].free_cpus -= need;
  free_sum_ -= need;
  start(r, node);
  return true;
}

bool world::place_actor(task_ptr& t, const actor_job& job) {
  // Not the cluster's rule (docs/simulation.md): a random live node with
  // room, or the actor's node affinity.
  uint32_t from = current_node();
  double need = t->opts.resources.cpus;
  auto* core = static_cast<const actor_core*>(job.lease_owner());
  auto& where = core->options().strategy; // its own option, not its jobs'
  bool pinned = where.kind == scheduling_strategy::node_affinity && where.node < nodes_.size();
  auto fits = [&](uint32_t n) {
    return nodes_[n].alive && reachable(from, n) && nodes_[n].free_cpus >= need;
  };
  std::optional<uint32_t> chosen;
  if (pinned && fits(static_cast<uint32_t>(where.node))) {
    chosen = static_cast<uint32_t>(where.node);
  } else if ((!pinned || where.soft) && need <= free_sum_) {
    // A few random picks first, so that placing among a thousand nodes is
    // not a scan of them all; then the scan, to find a rare free one.
    auto& rng = eng_.stream("placement");
    for (int i = 0; i < 8 && !chosen; ++i)
      if (auto n = static_cast<uint32_t>(rng() % nodes_.size()); fits(n))
        chosen = n;
    if (!chosen) {
      std::vector<uint32_t> fit;
      for (uint32_t n = 0; n < nodes_.size(); ++n)
        if (fits(n))
          fit.push_back(n);
      if (!fit.empty())
        chosen = fit[rng() % fit.size()];
    }
  }
  if (!chosen)
    return false;
  auto node = *chosen;
  auto r = std::make_shared<run_rec>();
  r->task = std::move(t);
  r->actor = true;
  // An actor lives where its constructor ran. Its CPUs are not held for
  // its life (docs/simulation.md).
  actor_node_[core] = node;
  nodes_[node].actors.push_back(const_cast<actor_core*>(core)->weak_from_this());
  start(r, node);
  return true;
}

void world::start(const rec_ptr& r, uint32_t node) {
  r->node = node;
  r->epoch = nodes_[node].epoch;
  runs_[node].push_back(r);
  r->pos = std::prev(runs_[node].end());
  eng_.note(event_kind::place, node, id_of(*r->task));
  send(r, current_node());
}

void world::send(const rec_ptr& r, uint32_t from) {
  auto node = r->node;
  auto id = id_of(*r->task);
  bool lost = false;
  auto d = delay(from, node, lost);
  if (lost && !r->actor) {
    // The spec never arrives: the sender notices and places it again.
    eng_.after(opts_.resend_after, event_kind::lost, node, id, [this, r] {
      if (r->over)
        return;
      retire(r);
      ready_.push_front(std::move(r->task));
      place_ready();
    });
    return;
  }
  if (lost) {
    // An actor job has one place to go: it is sent there again.
    eng_.after(opts_.resend_after, event_kind::lost, node, id, [this, r, from] {
      if (!r->over && nodes_[r->node].epoch == r->epoch)
        send(r, from);
    });
    return;
  }
  // Object arguments made elsewhere are fetched once the spec is there
  // (all at once: the slowest counts).
  bool cut = false;
  auto fetch_time = arg_fetch_time(*r, cut);
  if (!cut) {
    eng_.after(d + fetch_time, event_kind::arrive, node, id, [this, r] { arrive(r); });
    return;
  }
  // One lies across a partition: the spec arrives, its fetch waits.
  eng_.after(d, event_kind::wake, node, id, [this, r] { fetch_args(r); });
}

vtime world::arg_fetch_time(const run_rec& r, bool& cut) {
  cut = false;
  vtime slowest{0};
  if (opts_.latency.count() == 0 && opts_.bandwidth <= 0)
    return slowest;
  std::lock_guard guard{produced_mtx_};
  for (auto& dep : r.task->deps) {
    auto it = produced_.find(dep.get());
    if (it == produced_.end() || it->second.node == r.node)
      continue;
    cut = cut || !reachable(it->second.node, r.node);
    slowest = std::max(slowest, transfer(it->second.node, r.node, it->second.bytes));
  }
  return slowest;
}

void world::fetch_args(const rec_ptr& r) {
  if (r->over || nodes_[r->node].epoch != r->epoch)
    return; // its node died meanwhile: `detect` handles it
  bool cut = false;
  auto fetch_time = arg_fetch_time(*r, cut);
  auto id = id_of(*r->task);
  if (cut) // nothing crosses: asked again after a resend, as a get does
    eng_.after(opts_.resend_after, event_kind::wake, r->node, id, [this, r] { fetch_args(r); });
  else
    eng_.after(fetch_time, event_kind::arrive, r->node, id, [this, r] { arrive(r); });
}

} // namespace manta::detail::sim
