#include "actors/cluster_client_internal.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/core/codec.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/errors.hpp"
#include "manta/placement_group.hpp"
#include "manta/core/runtime.hpp"
#include "manta/placement/placement_groups.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace manta::actors {

namespace {

using namespace detail;

std::exception_ptr lost(const std::string& what) {
  return std::make_exception_ptr(object_lost_error(what));
}

// -- placing tasks -------------------------------------------------------------

bool has_room(const remote_node& n, const resource_demand& d) {
  if (!n.manager || !fits_total(n, d))
    return false;
  if (d.cpus > 0 && n.busy_cpus + d.cpus > n.info.cpus * remote_queue_factor)
    return false;
  for (auto& [name, amount] : d.custom) {
    auto i = n.busy_custom.find(name);
    double busy = i == n.busy_custom.end() ? 0 : i->second;
    if (busy + amount > n.custom.at(name))
      return false;
  }
  return true;
}

} // namespace

void fail_placed(self_ptr self, uint64_t id, placed_task& p, const std::string& why) {
  if (p.task) {
    end_task(*p.task, lost("task '" + p.task->name() + "' (object " + to_string(object_id{id})
                           + ") " + why));
  } else if (!p.rebuild) {
    generator_run_ended(self, id, true, false, why);
  } else if (auto fetch_id = self->state.fetches.of(id); fetch_id != 0) {
    fail_fetch(self, fetch_id, "it could not be rebuilt: its task " + why);
  }
}

namespace {

void send_to(self_ptr self, uint64_t id, placed_task& p, uint16_t index, remote_node& n) {
  // The node will read the task's referenced objects and keep them: from
  // now on it serves them (the chunks it has) to later readers.
  for (auto& [object, alive] : p.reads)
    if (n.info.data_port != 0)
      self->state.copies->add(object, index, alive);
  hold(n, p.demand, 1);
  p.node = index;
  p.count_dispatch(1);
  if (p.task)
    task_events::on_dispatched(*p.task, index);
  // With the task lane on (task_lane.hpp), a task's spec goes on it; not
  // one in a placement group, whose bundles the node takes over CAF first.
  p.by_lane = p.task != nullptr && p.task->opts.strategy.group == 0
              && lane_spec(self, index, id, p);
  if (!p.by_lane)
    send_spec(self, n.manager, p.spec);
}

scheduling_strategy strategy_of(const placed_task& p) {
  return p.task ? p.task->opts.strategy : scheduling_strategy{}; // rebuilds: anywhere
}

/// Fails a task pinned by a hard affinity to a node that is gone or can
/// never fit it.
void fail_pinned(self_ptr self, placed_task& p, uint16_t node) {
  auto* i = self->state.nodes.find(node);
  end_task(*p.task,
           std::make_exception_ptr(infeasible_task_error(
             "task '" + p.task->name() + "' is pinned to node " + std::to_string(node)
             + (i == nullptr ? ", which is not alive in the cluster"
                             : ", which can never fit its demand of " + p.demand.to_string())
             + "; pin it to a live node (manta::current_node() inside a task says which "
               "node runs it) or use node_affinity(node, /*soft=*/true)")));
}

/// How the workers and this node stand for `p` (node_choice.hpp): a
/// worker's room is its CPUs times the queue window, this node's is its
/// pool's free resources, asked only for SPREAD (the default strategy
/// tried this node before it came here: hand_over).
placement_ask ask_for(self_ptr self, const placed_task& p, std::vector<node_view>& others) {
  auto& st = self->state;
  others.clear();
  bool any_room = false;
  for (auto& [index, n] : st.nodes) {
    others.push_back({index, fits_total(n, p.demand), has_room(n, p.demand),
                      n.busy_cpus / std::max(n.info.cpus, 1e-9)});
    any_room = any_room || others.back().has_room;
  }
  placement_ask ask{strategy_of(p), std::nullopt, p.prefer};
  if (!p.task)
    return ask; // a rebuild runs on a worker
  node_view local{st.link->index(), true, false, 0};
  if (ask.where.kind != scheduling_strategy::spread && !any_room) {
    // Every worker full: only whether this node could ever run it counts,
    // and its pool's totals are the runtime's, fixed when it started. Read
    // there, not copied out of the pool under its lock: with the workers'
    // queues full (a burst of tasks) this is asked about twice per task.
    auto& rt = runtime::here();
    local.can_fit = p.demand.fits_in(rt.total_cpus(), rt.total_custom());
  } else if (ask.where.kind == scheduling_strategy::spread) {
    // Asked only where the answer depends on it: otherwise a worker with
    // room is chosen before this node's queue is looked at.
    auto [free, total] = st.link->pool().resources();
    auto free_cpus = free[cpu_resource];
    auto total_cpus = total[cpu_resource];
    free.erase(cpu_resource);
    total.erase(cpu_resource);
    local.can_fit = p.demand.fits_in(total_cpus, total);
    local.has_room = p.demand.fits_in(free_cpus, free);
  }
  ask.local = local;
  return ask;
}

/// Sends a placed task where the placement rule (node_choice.hpp) says: a
/// worker, this node's pool, or nowhere yet. Returns false if it waits.
bool place(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto* found = st.tasks.find(id);
  if (found == nullptr)
    return true;
  auto& p = *found;
  if (p.task && p.task->cancelled()) {
    st.tasks.erase(id);
    return true;
  }
  if (p.task) {
    // Submitted into a placement group that was not reserved yet.
    std::string why;
    // Only a task in a group is pinned, and it has options of its own.
    auto pinned = p.task->opts.strategy.group == 0 ? 1
                                                   : runtime::here().placements().pin(
                                                     p.task->own_options().strategy, p.demand, why);
    if (pinned == 0)
      return false; // placed once its group is (`finish_try`)
    if (pinned < 0) {
      end_task(*p.task, std::make_exception_ptr(
                          placement_group_removed_error("task '" + p.task->name() + "': " + why)));
      st.tasks.erase(id);
      return true;
    }
  }
  static thread_local std::vector<node_view> others;
  auto ask = ask_for(self, p, others);
  auto choice = st.tasks.choose(ask, others);
  auto local = st.link->index();
  switch (choice.kind) {
    case node_choice::run_on:
    case node_choice::queue_local:
      if (choice.node == local) {
        // SPREAD's turn of this node: its pool had room a moment ago; if a
        // task of its own took it meanwhile, this one queues there.
        if (choice.kind == node_choice::queue_local || !st.link->pool().try_schedule(p.task))
          st.link->pool().schedule(std::move(p.task));
        st.tasks.erase(id);
        return true;
      }
      send_to(self, id, p, static_cast<uint16_t>(choice.node),
              st.nodes.at(static_cast<uint16_t>(choice.node)));
      return true;
    case node_choice::wait:
      return false;
    case node_choice::pinned_away:
      if (st.nodes.reconnecting_fits(p.demand, static_cast<uint16_t>(choice.node)))
        return false; // waits until its node is connected again
      fail_pinned(self, p, static_cast<uint16_t>(choice.node));
      st.tasks.erase(id);
      return true;
    case node_choice::nowhere:
      if (st.nodes.reconnecting_fits(p.demand))
        return false;
      fail_placed(self, id, p,
                  "needs " + p.demand.to_string() + " and no live node offers that any more");
      st.tasks.erase(id);
      return true;
  }
  return false;
}

} // namespace

void place_waiting(self_ptr self) {
  // Within a group every task asks for the same resources in the same
  // place, so once one cannot be placed none behind it can.
  self->state.tasks.place_waiting([self](uint64_t id) { return place(self, id); });
  lane_door_publish(self);
}

void place_or_wait(self_ptr self, uint64_t id) {
  if (place(self, id)) {
    lane_door_publish(self);
    return;
  }
  auto& st = self->state;
  auto& p = *st.tasks.find(id);
  st.tasks.wait(id, p.demand, strategy_of(p));
}

std::vector<uint16_t> holders_of(self_ptr self, uint64_t id, uint16_t first) {
  auto& st = self->state;
  auto serves = [&](uint16_t node) {
    if (node == st.link->index())
      return st.link->data_port() != 0;
    auto* n = st.nodes.connected(node);
    return n != nullptr && n->info.data_port != 0;
  };
  std::vector<uint16_t> out;
  if (serves(first))
    out.push_back(first);
  for (auto node : st.copies->copies(id))
    if (node != first && serves(node))
      out.push_back(node);
  return out;
}

wire::holder holder_info(self_ptr self, uint16_t node) {
  auto& st = self->state;
  if (node == st.link->index())
    return {node, st.link->data_host(), st.link->data_port()};
  auto& info = st.nodes.at(node).info;
  return {node, info.host, info.data_port};
}

namespace {

/// An ArgRef naming every holder of the object (`holders` not empty), the
/// ones named to the fewest readers so far first (those it reads from).
wire::arg_ref arg_ref_to(self_ptr self, uint32_t position, uint64_t id, uint64_t size,
                         std::vector<uint16_t> holders, const slot_ptr& slot) {
  self->state.copies->balance(id, holders, transfer_sources, slot);
  auto first = holder_info(self, holders.front());
  wire::arg_ref r{position, id, first.node, first.host, first.data_port, size, {}};
  for (size_t k = 1; k < holders.size(); ++k)
    r.copies.push_back(holder_info(self, holders[k]));
  return r;
}

/// All arguments are bytes now: encode the TaskSpec and place it.
void send_prepared(self_ptr self, preparing_task& prep) {
  if (prep.task->cancelled())
    return;
  auto& t = *prep.task;
  auto msg = spec_fields(t, self->state.link->joined_as().job_id);
  msg.args.reserve(prep.args.size());
  for (auto& a : prep.args)
    msg.args.push_back(std::move(*a));
  msg.arg_refs = std::move(prep.refs);
  // Locality: the worker holding most of the referenced bytes.
  std::map<uint32_t, uint64_t> held;
  for (auto& r : msg.arg_refs) {
    if (r.node != self->state.link->index())
      held[r.node] += r.size;
    for (auto& c : r.copies)
      held[c.node] += r.size;
  }
  auto prefer = static_cast<uint16_t>(most_bytes(held));
  auto id = msg.task_id;
  auto& p = self->state.tasks.record(id);
  p.prefer = prefer;
  p.reads = std::move(prep.reads);
  p.task = prep.task;
  p.spec = wire::encode(msg);
  p.demand = t.opts.resources;
  p.max_retries = t.opts.max_retries;
  p.max_node_failures = t.opts.max_node_failures;
  p.dispatches = prep.dispatches;
  p.node_losses = std::move(prep.node_losses);
  p.lent = std::move(prep.lent);
  place_or_wait(self, id);
}

} // namespace

void dispatch(self_ptr self, task_ptr t, const placed_task* before) {
  if (t->cancelled())
    return;
  auto& st = self->state;
  auto id = t->result->id().value();
  auto finish_one = [self, id] {
    auto* prep = self->state.tasks.preparing(id);
    if (prep != nullptr && --prep->missing == 0) {
      auto ready = self->state.tasks.take_prepared(id);
      send_prepared(self, *ready);
    }
  };
  {
    auto& prep = st.tasks.prepare(id);
    prep.task = t;
    prep.missing = 1; // held until every argument has been looked at
    if (before != nullptr) {
      prep.dispatches = before->dispatches;
      prep.node_losses = before->node_losses;
    }
  }
  // The refs written inside its arguments are pinned by the task until it
  // ends (store/contained_refs.hpp).
  detail::lend_scope lending;
  auto keep_lent = [&] {
    if (auto* prep = st.tasks.preparing(id))
      prep->lent = detail::contained_refs{lending.take()};
  };
  try {
    std::vector<std::optional<bytes_t>> args;
    t->encode_args(args);
    st.tasks.preparing(id)->args = std::move(args);
    size_t dep = 0;
    auto n = st.tasks.preparing(id)->args.size();
    for (size_t k = 0; k < n; ++k) {
      auto* prep = st.tasks.preparing(id);
      if (prep == nullptr)
        return; // an argument failed (and failed the task)
      if (prep->args[k])
        continue;
      auto& slot = t->deps.at(dep++);
      if (slot->remote() && !slot->resident()) {
        // On workers: the receiving node reads it from there (the node
        // that made it and every copy), never through this driver.
        auto& obj = *slot->remote();
        auto held = held_id(self, obj.id.value());
        auto holders = holders_of(self, held, obj.node.load());
        if (!holders.empty()) {
          prep->args[k].emplace();
          prep->refs.push_back(arg_ref_to(self, static_cast<uint32_t>(k), held,
                                          obj.encoded_size.load(), holders, slot));
          prep->reads.emplace_back(held, std::weak_ptr<const void>{slot});
          continue;
        }
        ++prep->missing;
        fetch(self, slot->remote(),
              [self, id, k, finish_one](const std::string& err, bytes_t& data) {
                auto* prep = self->state.tasks.preparing(id);
                if (prep == nullptr)
                  return;
                if (!err.empty()) {
                  auto task = self->state.tasks.take_prepared(id)->task;
                  end_task(*task, lost("argument " + std::to_string(k + 1) + " of task '"
                                       + task->name() + "' is lost: " + err));
                  // Reads of its lost items that waited for this retry.
                  generator_run_ended(self, id, false, true, "");
                  return;
                }
                prep->args[k] = std::move(data);
                finish_one();
              });
        continue;
      }
      if (slot->codec() == nullptr)
        throw std::runtime_error("argument " + std::to_string(k + 1)
                                 + " has a type without a codec");
      auto value = slot->shared_value();
      encoded_bytes e;
      if (auto err = slot->codec()->encode(value.get(), e))
        throw std::runtime_error(error_text(err));
      if (e.size >= arg_ref_bytes && st.link->data_port() != 0) {
        // Large and here: the receiving node reads it from this node and
        // from the nodes that copied it.
        prep->args[k].emplace();
        prep->refs.push_back(arg_ref_to(self, static_cast<uint32_t>(k), slot->id().value(), e.size,
                                        holders_of(self, slot->id().value(), st.link->index()),
                                        slot));
        prep->reads.emplace_back(slot->id().value(), std::weak_ptr<const void>{slot});
        continue;
      }
      prep->args[k].emplace(e.data, e.data + e.size);
    }
    keep_lent();
  } catch (const std::exception& e) {
    st.tasks.take_prepared(id);
    end_task(*t, std::make_exception_ptr(
                   error("task '" + t->name() + "' cannot be sent to another node: " + e.what())));
    return;
  }
  finish_one();
}

} // namespace manta::actors
