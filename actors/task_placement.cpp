#include "actors/cluster_client_internal.hpp"

#include "manta/detail/cluster.hpp"
#include "manta/detail/code_loader.hpp"
#include "manta/detail/codec.hpp"
#include "manta/detail/object_fetch.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/errors.hpp"
#include "manta/placement_group.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace manta::actors {

namespace {

using namespace detail;
using self_ptr = cluster_client_actor*;
using bytes_t = wire::bytes;

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
    if (busy + amount > n.info.custom.at(name))
      return false;
  }
  return true;
}

/// Whether anything alive (a worker or, for tasks, this node) can ever run it.
bool runnable_anywhere(self_ptr self, const placed_task& p) {
  for (auto& [_, n] : self->state.nodes)
    if (fits_total(n, p.demand))
      return true;
  if (reconnecting_fits(self->state, p.demand))
    return true;
  auto [free, total] = self->state.link->pool().resources();
  auto cpus = total[cpu_resource];
  total.erase(cpu_resource);
  return p.task && p.demand.fits_in(cpus, total);
}

} // namespace

void fail_placed(self_ptr self, uint64_t id, placed_task& p, const std::string& why) {
  if (p.task) {
    p.task->result->seal_error(lost("task '" + p.task->name() + "' (object "
                                    + to_string(object_id{id}) + ") " + why));
  } else if (auto it = self->state.fetch_of.find(id); it != self->state.fetch_of.end()) {
    fail_fetch(self, it->second, "it could not be rebuilt: its task " + why);
  }
}

namespace {

void send_to(self_ptr self, placed_task& p, uint16_t index, remote_node& n) {
  // The node will read the task's referenced objects and keep them: from
  // now on it serves them (the chunks it has) to later readers.
  for (auto& [object, alive] : p.reads)
    if (n.info.data_port != 0)
      self->state.copies.add(object, index, alive);
  hold(n, p.demand, 1);
  p.node = index;
  ++p.dispatches;
  if (p.task)
    task_events::on_dispatched(*p.task, index);
  send_spec(self, n.manager, p.spec);
}

scheduling_strategy strategy_of(const placed_task& p) {
  return p.task ? p.task->opts.strategy : scheduling_strategy{}; // rebuilds: anywhere
}

/// A node pinned by a hard affinity that can never run the task: fails it.
/// Returns true if it did.
bool fail_if_pinned_elsewhere(self_ptr self, placed_task& p) {
  auto where = strategy_of(p);
  if (where.kind != scheduling_strategy::node_affinity || where.soft)
    return false;
  auto i = self->state.nodes.find(where.node);
  if (i != self->state.nodes.end() && fits_total(i->second, p.demand))
    return false;
  if (reconnecting_fits(self->state, p.demand, where.node))
    return false; // waits until its node is connected again
  p.task->result->seal_error(std::make_exception_ptr(infeasible_task_error(
    "task '" + p.task->name() + "' is pinned to node " + std::to_string(where.node)
    + (i == self->state.nodes.end() ? ", which is not alive in the cluster"
                                    : ", which can never fit its demand of "
                                        + p.demand.to_string())
    + "; pin it to a live node (manta::current_node() inside a task says which "
      "node runs it) or use node_affinity(node, /*soft=*/true)")));
  return true;
}

/// SPREAD: the next node after the last one used, in index order and this
/// node included, that has room now. Returns true if the task went.
bool place_spread(self_ptr self, uint64_t id, placed_task& p) {
  auto& st = self->state;
  auto local = st.link->index();
  std::vector<uint16_t> order;
  for (auto& [index, _] : st.nodes)
    order.push_back(index);
  if (p.task)
    order.insert(std::lower_bound(order.begin(), order.end(), local), local);
  auto start = std::upper_bound(order.begin(), order.end(), st.spread_last) - order.begin();
  for (size_t k = 0; k < order.size(); ++k) {
    auto index = order[(static_cast<size_t>(start) + k) % order.size()];
    if (index == local) {
      if (st.link->pool().try_schedule(p.task)) {
        st.spread_last = index;
        st.placed.erase(id);
        return true;
      }
    } else if (auto& n = st.nodes.at(index); has_room(n, p.demand)) {
      st.spread_last = index;
      send_to(self, p, index, n);
      return true;
    }
  }
  return false;
}

/// Sends a placed task to the worker with the most room (or where its
/// strategy says), runs it here when this node can queue it, or leaves it
/// waiting. Returns false if it waits.
bool place(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto i = st.placed.find(id);
  if (i == st.placed.end())
    return true;
  auto& p = i->second;
  if (p.task && p.task->cancelled()) {
    st.placed.erase(i);
    return true;
  }
  if (p.task) {
    // Submitted into a placement group that was not reserved yet.
    std::string why;
    auto pinned = pin_to_bundle(p.task->opts.strategy, p.demand, why);
    if (pinned == 0)
      return false; // placed once its group is (`finish_try`)
    if (pinned < 0) {
      p.task->result->seal_error(std::make_exception_ptr(placement_group_removed_error(
        "task '" + p.task->name() + "': " + why)));
      st.placed.erase(i);
      return true;
    }
    auto& where = p.task->opts.strategy;
    if (where.kind == scheduling_strategy::node_affinity && where.node == st.link->index()) {
      st.link->pool().schedule(std::move(p.task)); // its bundle is on this node
      st.placed.erase(i);
      return true;
    }
  }
  auto where = strategy_of(p);
  if (where.kind == scheduling_strategy::node_affinity) {
    if (fail_if_pinned_elsewhere(self, p)) {
      st.placed.erase(i);
      return true;
    }
    auto n = st.nodes.find(where.node);
    if (n != st.nodes.end() && fits_total(n->second, p.demand)) {
      if (!has_room(n->second, p.demand))
        return false; // waits for that node
      send_to(self, p, where.node, n->second);
      return true;
    }
    if (!where.soft && n == st.nodes.end())
      return false; // its node is being reconnected (see fail_if_pinned_elsewhere)
    // A soft affinity to a node that is gone: anywhere.
  } else if (where.kind == scheduling_strategy::spread && place_spread(self, id, p)) {
    return true;
  } else if (auto n = st.nodes.find(p.prefer); n != st.nodes.end() && has_room(n->second, p.demand)) {
    send_to(self, p, p.prefer, n->second); // its large arguments are there
    return true;
  }
  remote_node* best = nullptr;
  uint16_t best_index = 0;
  for (auto& [index, n] : st.nodes) {
    if (!has_room(n, p.demand))
      continue;
    if (best == nullptr || n.busy_cpus / std::max(n.info.cpus, 1e-9)
                             < best->busy_cpus / std::max(best->info.cpus, 1e-9)) {
      best = &n;
      best_index = index;
    }
  }
  if (best != nullptr) {
    send_to(self, p, best_index, *best);
    return true;
  }
  if (p.task) {
    auto [free, total] = st.link->pool().resources();
    auto cpus = total[cpu_resource];
    total.erase(cpu_resource);
    if (p.demand.fits_in(cpus, total)) {
      // Every worker is full: queue it here, where it can run.
      st.link->pool().schedule(std::move(p.task));
      st.placed.erase(i);
      return true;
    }
  }
  if (!runnable_anywhere(self, p)) {
    fail_placed(self, id, p, "needs " + p.demand.to_string()
                               + " and no live node offers that any more");
    st.placed.erase(i);
    return true;
  }
  return false;
}

} // namespace

void place_waiting(self_ptr self) {
  // Within a group every task asks for the same resources in the same
  // place, so once one
  // cannot be placed none behind it can: each result costs a look at each
  // group, not at every waiting task (thousands of them in a burst).
  for (auto& g : self->state.waiting) {
    while (!g.ids.empty() && place(self, g.ids.front()))
      g.ids.pop_front();
  }
}

void place_or_wait(self_ptr self, uint64_t id) {
  if (place(self, id))
    return;
  auto& st = self->state;
  auto& p = st.placed.at(id);
  auto where = strategy_of(p);
  for (auto& g : st.waiting) {
    if (g.demand == p.demand && g.where.kind == where.kind && g.where.node == where.node) {
      g.ids.push_back(id);
      return;
    }
  }
  st.waiting.push_back(waiting_group{p.demand, where, {id}});
}

std::vector<uint16_t> holders_of(self_ptr self, uint64_t id, uint16_t first) {
  auto& st = self->state;
  auto serves = [&](uint16_t node) {
    if (node == st.link->index())
      return st.link->data_port() != 0;
    auto n = st.nodes.find(node);
    return n != st.nodes.end() && n->second.manager && n->second.info.data_port != 0;
  };
  std::vector<uint16_t> out;
  if (serves(first))
    out.push_back(first);
  for (auto node : st.copies.copies(id))
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
  self->state.copies.balance(id, holders, transfer_sources, slot);
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
  wire::task_message msg;
  msg.task_id = t.result->id().value();
  msg.function_name = t.function_name;
  msg.signature = t.signature();
  msg.layout_hash = t.layout_hash();
  msg.code = detail::code_for(t.library != nullptr ? *t.library : std::string{});
  msg.name = t.name();
  msg.job_id = self->state.link->joined_as().job_id;
  msg.args.reserve(prep.args.size());
  for (auto& a : prep.args)
    msg.args.push_back(std::move(*a));
  msg.demand = t.opts.resources;
  msg.max_retries = t.opts.max_retries;
  msg.retry_exceptions = t.opts.retry_exceptions;
  msg.retry_exception_types = t.opts.retry_exception_types;
  msg.item_window = t.item_window;
  msg.arg_refs = std::move(prep.refs);
  // Locality: the worker holding most of the referenced bytes.
  std::map<uint16_t, uint64_t> held;
  for (auto& r : msg.arg_refs) {
    if (r.node != self->state.link->index())
      held[r.node] += r.size;
    for (auto& c : r.copies)
      held[c.node] += r.size;
  }
  uint16_t prefer = 0;
  for (auto& [node, bytes] : held)
    if (prefer == 0 || bytes > held[prefer])
      prefer = node;
  auto id = msg.task_id;
  auto& p = self->state.placed[id];
  p.prefer = prefer;
  p.reads = std::move(prep.reads);
  p.task = prep.task;
  p.spec = wire::encode(msg);
  p.demand = t.opts.resources;
  p.max_retries = t.opts.max_retries;
  p.max_node_failures = t.opts.max_node_failures;
  place_or_wait(self, id);
}

} // namespace

void dispatch(self_ptr self, task_ptr t) {
  if (t->cancelled())
    return;
  auto& st = self->state;
  auto id = t->result->id().value();
  auto finish_one = [self, id] {
    auto i = self->state.preparing.find(id);
    if (i != self->state.preparing.end() && --i->second.missing == 0) {
      auto prep = std::move(i->second);
      self->state.preparing.erase(i);
      send_prepared(self, prep);
    }
  };
  {
    auto& prep = st.preparing[id];
    prep.task = t;
    prep.missing = 1; // held until every argument has been looked at
  }
  try {
    std::vector<std::optional<bytes_t>> args;
    t->encode_args(args);
    st.preparing.at(id).args = std::move(args);
    size_t dep = 0;
    auto n = st.preparing.at(id).args.size();
    for (size_t k = 0; k < n; ++k) {
      auto i = st.preparing.find(id);
      if (i == st.preparing.end())
        return; // an argument failed (and failed the task)
      if (i->second.args[k])
        continue;
      auto& slot = t->deps.at(dep++);
      if (slot->remote() && !slot->resident()) {
        // On workers: the receiving node reads it from there (the node
        // that made it and every copy), never through this driver.
        auto& obj = *slot->remote();
        auto holders = holders_of(self, obj.id.value(), obj.node.load());
        if (!holders.empty()) {
          i->second.args[k].emplace();
          i->second.refs.push_back(arg_ref_to(self, static_cast<uint32_t>(k), obj.id.value(),
                                              obj.encoded_size.load(), holders, slot));
          i->second.reads.emplace_back(obj.id.value(), std::weak_ptr<const void>{slot});
          continue;
        }
        ++i->second.missing;
        fetch(self, slot->remote(), [self, id, k, finish_one](const std::string& err,
                                                              bytes_t& data) {
          auto i = self->state.preparing.find(id);
          if (i == self->state.preparing.end())
            return;
          if (!err.empty()) {
            auto task = i->second.task;
            self->state.preparing.erase(i);
            task->result->seal_error(lost("argument " + std::to_string(k + 1) + " of task '"
                                          + task->name() + "' is lost: " + err));
            return;
          }
          i->second.args[k] = std::move(data);
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
        i->second.args[k].emplace();
        i->second.refs.push_back(arg_ref_to(self, static_cast<uint32_t>(k), slot->id().value(),
                                            e.size,
                                            holders_of(self, slot->id().value(),
                                                       st.link->index()),
                                            slot));
        i->second.reads.emplace_back(slot->id().value(), std::weak_ptr<const void>{slot});
        continue;
      }
      i->second.args[k].emplace(e.data, e.data + e.size);
    }
  } catch (const std::exception& e) {
    st.preparing.erase(id);
    t->result->seal_error(std::make_exception_ptr(
      error("task '" + t->name() + "' cannot be sent to another node: " + e.what())));
    return;
  }
  finish_one();
}

} // namespace manta::actors
