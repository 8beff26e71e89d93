// Placing the simulation's tasks and actors on virtual nodes, and sending
// each there, by the cluster's own rules (node_choice.hpp for tasks,
// actor_choice.hpp for actors).

#include "manta/sim/sim_world.hpp"

#include "manta/cluster/actor_choice.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_job.hpp"
#include "manta/cluster/node_choice.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/errors.hpp"
#include "manta/core/runtime.hpp"
#include "manta/placement/placement_groups.hpp"

#include <algorithm>
#include <map>

namespace manta::detail::sim {

void world::place_ready() {
  if (apart_dirty_)
    requeue_held();
  // First in, first placed: a task that fits nowhere holds back the ones
  // behind it, as the pool's queue does.
  while (!ready_.empty()) {
    if (!ready_.front().rebuild && ready_.front().task->cancelled()) {
      ready_.pop_front();
      continue;
    }
    if (!try_place(ready_.front()))
      return;
    ready_.pop_front();
  }
}

bool world::try_place(queued& q) {
  if (q.rebuild) // its lost arguments kept for it are rebuilt first
    return wait_for_lost_argument(q) || place_rebuild(q);
  auto& t = q.task;
  auto* job = dynamic_cast<actor_job*>(t.get());
  if (job == nullptr) // one whose argument is lost waits for its rebuild
    return wait_for_lost_argument(q) || place_task(q);
  auto it = actor_node_.find(job->lease_owner());
  if (it == actor_node_.end() || job->keeps_lease) { // its constructor
    if (static_cast<const actor_core*>(job->lease_owner())->options().strategy.group != 0)
      return place_group_actor(q, *job);
    return place_actor(q, *job);
  }
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
  r->from = q.from;
  start(r, it->second, q.from);
  return true;
}

node_view world::view_of(uint32_t n, uint32_t from, double need) const {
  auto& node = nodes_[n];
  node_view v{n, node.alive && opts_.cpus_per_node >= need, false,
              1.0 - node.free_cpus / opts_.cpus_per_node};
  v.has_room = v.can_fit && reachable(from, n) && node.free_cpus >= need;
  return v;
}

node_view world::view_of(uint32_t n, uint32_t from, double need, const resource_map& custom) const {
  auto v = view_of(n, from, need);
  if (!custom.empty()) {
    v.can_fit = v.can_fit && custom_fits(n, custom, false);
    v.has_room = v.has_room && v.can_fit && custom_fits(n, custom, true);
  }
  return v;
}

bool world::place_task(queued& q) {
  auto& t = q.task;
  double need = t->opts.resources.cpus;
  auto& custom = t->opts.resources.custom;
  auto& where = t->opts.strategy;
  if (where.group != 0) {
    // In a placement group laid out over the nodes: pinned to its bundle's
    // node once the group is reserved, as the driver's `place` pins it.
    std::string why;
    // `where` is the task's own options' (only a task in a group has it set).
    auto pinned = runtime::here().placements().pin(t->own_options().strategy, t->opts.resources,
                                                   why);
    if (pinned < 0) {
      end_task(
        *t, task_state::failed,
        std::make_exception_ptr(placement_group_removed_error("task '" + t->name() + "': " + why)));
      return true;
    }
    // Not reserved yet, or its node died and the group has not noticed.
    if (pinned == 0 || !nodes_[where.node].alive || !custom_fits(where.node, custom, false)) {
      hold(q);
      return true;
    }
  }
  bool hard = where.kind == scheduling_strategy::node_affinity && !where.soft;
  if (!hard && need > free_sum_)
    return false; // no node has room: the rule could only say wait
  // A retry of a task lost with its node is placed by its owner; a task
  // that waited for room, from the node whose run just ended and made it,
  // as a worker starts the next task of its queue without a trip.
  uint32_t from = q.by_owner ? q.from : current_node();
  views_.clear();
  if (custom.empty()) { // most tasks: each node's CPUs only
    for (uint32_t n = 0; n < nodes_.size(); ++n)
      if (n != from)
        views_.push_back(view_of(n, from, need));
  } else {
    for (uint32_t n = 0; n < nodes_.size(); ++n)
      if (n != from)
        views_.push_back(view_of(n, from, need, custom));
  }
  placement_ask ask{where, view_of(from, from, need, custom), 0};
  if (q.by_owner && where.kind != scheduling_strategy::spread
      && std::any_of(views_.begin(), views_.end(), [](auto& v) { return v.has_room; }))
    ask.local->has_room = false; // the owner's client sends it to a worker
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
      if (!ask.local->has_room) {
        if (custom.empty())
          return false;
        hold(q); // tasks asking for other resources go on meanwhile
        return true;
      }
      break;
    case node_choice::wait:
    case node_choice::nowhere: // a node may be revived
      if (custom.empty())
        return false;
      hold(q);
      return true;
    case node_choice::pinned_away:
      // Pinned to a node the driver is reconnecting to, which fits it: it
      // waits for it, as the driver's `place` does (`reconnecting_fits`).
      if (reconnecting_.count(node) > 0 && opts_.cpus_per_node >= need
          && custom_fits(node, custom, false)) {
        if (custom.empty())
          return false;
        hold(q);
        return true;
      }
      // The error a cluster's driver gives (`fail_pinned`), so that the
      // same program handles it the same way in both.
      end_task(*t, task_state::failed,
               std::make_exception_ptr(infeasible_task_error(
                 "task '" + t->name() + "' is pinned to node " + std::to_string(node)
                 + (node < nodes_.size() ? ", which is not alive in the cluster (simulated: "
                                             + node_name(node) + " died)"
                                         : ", which is not alive in the cluster (the simulation "
                                           "has "
                                             + std::to_string(nodes_.size()) + " nodes)")
                 + "; pin it to a live node or use node_affinity(node, /*soft=*/true)")));
      return true; // placed nowhere, but out of the queue
  }
  auto r = std::make_shared<run_rec>();
  r->task = std::move(t);
  r->cpus = need;
  r->from = q.from;
  nodes_[node].free_cpus -= need;
  free_sum_ -= need;
  if (!custom.empty()) {
    take_custom(node, custom, -1);
    r->custom = true;
  }
  start(r, node, from);
  return true;
}

bool world::place_rebuild(queued& q) {
  // As the driver places a rebuild (task_placement.cpp): on a worker, with
  // no strategy of its own and no local node.
  double need = q.task->opts.resources.cpus;
  auto& custom = q.task->opts.resources.custom;
  if (need > free_sum_)
    return false;
  views_.clear();
  for (uint32_t n = 1; n < nodes_.size(); ++n)
    views_.push_back(view_of(n, 0, need, custom));
  uint32_t spread_last = 0; // the default strategy takes no turn
  auto choice = choose_node(placement_ask{}, views_, spread_last);
  if (choice.kind != node_choice::run_on)
    return false; // a node may be revived
  auto r = std::make_shared<run_rec>();
  r->task = q.task;
  r->rebuild = q.rebuild;
  r->cpus = need; // `from`: the driver's node 0
  nodes_[choice.node].free_cpus -= need;
  free_sum_ -= need;
  if (!custom.empty()) {
    take_custom(choice.node, custom, -1);
    r->custom = true;
  }
  start(r, choice.node, 0);
  return true;
}

bool world::place_actor(queued& q, const actor_job& job) {
  // The cluster's rule (actor_choice.hpp): whether it stays on the node
  // whose code creates it is decided once, as `place_on_other_node` decides
  // at its creation (each node's code creates as the driver does); one that
  // goes elsewhere, and a restart of one whose node died, goes to a node
  // but the driver's (node 0), as the driver places only on its workers.
  auto& t = q.task;
  uint32_t from = q.from;
  auto* core = static_cast<const actor_core*>(job.lease_owner());
  release_hold(core); // a restart takes its resources again below
  auto& where = core->options().strategy; // its own option, not its jobs'
  double need = t->opts.resources.cpus;
  // Every node has the same CPUs; custom resources are some nodes' only.
  auto& custom = core->options().resources.custom;
  bool fits = opts_.cpus_per_node >= need;
  auto fits_on = [&](uint32_t n) { return fits && custom_fits(n, custom, false); };
  auto [home, fresh] = actor_home_.try_emplace(core, from);
  if (fresh) {
    size_t turn = where.kind == scheduling_strategy::spread ? spread_turn_++ : 0;
    bool here = fits_on(from);
    bool elsewhere_fits = fits
                          && (custom.empty() || fits_a_node(core->options().resources, nullptr));
    if (!actor_stays_local(where, true, home->second, here, elsewhere_fits, nodes_.size() - 1,
                           turn))
      home->second = elsewhere;
  }
  uint32_t node = home->second;
  if (node == elsewhere || !nodes_[node].alive) {
    home->second = elsewhere;
    views_.clear();
    for (uint32_t n = 1; n < nodes_.size(); ++n)
      views_.push_back(
        {n, nodes_[n].alive && fits_on(n), false, 1.0 - nodes_[n].free_cpus / opts_.cpus_per_node});
    auto choice = choose_actor_node(where, views_, actor_spread_last_);
    if (choice.kind != node_choice::run_on)
      return false; // pinned to a dead node, or none fits: a node may be revived
    node = choice.node;
  }
  if (nodes_[node].free_cpus < need || !custom_fits(node, custom, true)) {
    // Its constructor waits for the CPUs and resources of its node, held
    // apart so that work behind it that fits elsewhere is not held back.
    ++actors_apart_;
    hold(q);
    return true;
  }
  auto r = std::make_shared<run_rec>();
  r->task = std::move(t);
  r->actor = true;
  // An actor lives where its constructor ran, and its instance holds the
  // constructor's CPUs and custom resources there for its life.
  actor_node_[core] = node;
  nodes_[node].actors.push_back(const_cast<actor_core*>(core)->weak_from_this());
  if (need > 0 || !custom.empty()) {
    nodes_[node].free_cpus -= need;
    free_sum_ -= need;
    take_custom(node, custom, -1);
    holds_[core] = actor_hold{node, nodes_[node].epoch, need, custom};
  }
  r->from = from;
  start(r, node, from);
  return true;
}

void world::release_hold(const void* core) {
  auto it = holds_.find(core);
  if (it == holds_.end())
    return;
  auto h = std::move(it->second);
  holds_.erase(it);
  if (!nodes_[h.node].alive || nodes_[h.node].epoch != h.epoch)
    return; // gone with its node's death
  nodes_[h.node].free_cpus += h.cpus;
  free_sum_ += h.cpus;
  take_custom(h.node, h.custom, 1);
  apart_dirty_ = true; // what waits apart for them may fit now
  wake_groups();
}

void world::actor_gone(const actor_core* core) {
  if (!eng_.on_owner()) {
    eng_.post([this, core] { actor_gone(core); });
    return;
  }
  release_hold(core);
  actor_node_.erase(core);
  actor_home_.erase(core);
  place_ready();
}

void world::start(const rec_ptr& r, uint32_t node, uint32_t from) {
  r->node = node;
  r->epoch = nodes_[node].epoch;
  runs_[node].push_back(r);
  r->pos = std::prev(runs_[node].end());
  eng_.note(event_kind::place, node, id_of(*r->task));
  send(r, from);
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
      ready_.push_front(queued{std::move(r->task), r->from, r->rebuild, false});
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
  auto fetch_time = arg_fetch_time(*r, eng_.now() + d, cut);
  if (!cut) {
    eng_.after(d + fetch_time, event_kind::arrive, node, id, [this, r] { arrive(r); });
    return;
  }
  // One lies across a partition: the spec arrives, its fetch waits.
  eng_.after(d, event_kind::wake, node, id, [this, r] { fetch_args(r); });
}

vtime world::arg_fetch_time(const run_rec& r, vtime spec_arrives, bool& cut) {
  cut = false;
  vtime last = spec_arrives;
  if (opts_.latency.count() == 0 && opts_.bandwidth <= 0)
    return vtime{0};
  std::lock_guard guard{produced_mtx_};
  std::vector<produced*> far;
  for (auto& dep : r.task->deps) {
    auto it = produced_.find(dep.get());
    if (it == produced_.end() || it->second.node == r.node)
      continue;
    if (!reachable(it->second.node, r.node)) {
      cut = true; // none is sent before the heal
      return vtime{0};
    }
    far.push_back(&it->second);
  }
  // Asked for once the spec is there, all at once.
  for (auto* p : far)
    last = std::max(last, crossing(*p, r.node, spec_arrives));
  return last - spec_arrives;
}

void world::fetch_args(const rec_ptr& r) {
  if (r->over || nodes_[r->node].epoch != r->epoch)
    return; // its node died meanwhile: `detect` handles it
  bool cut = false;
  auto fetch_time = arg_fetch_time(*r, eng_.now(), cut);
  auto id = id_of(*r->task);
  if (cut) // nothing crosses: asked again after a resend, as a get does
    eng_.after(opts_.resend_after, event_kind::wake, r->node, id, [this, r] { fetch_args(r); });
  else
    eng_.after(fetch_time, event_kind::arrive, r->node, id, [this, r] { arrive(r); });
}

} // namespace manta::detail::sim
