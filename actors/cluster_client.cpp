#include "actors/cluster_client.hpp"

#include "actors/atoms.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/node_manager.hpp"
#include "manta/detail/cluster.hpp"
#include "manta/detail/cluster_token.hpp"
#include "manta/detail/codec.hpp"
#include "manta/detail/log_capture.hpp"
#include "manta/detail/object_transfer.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/transport.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace manta::actors {

namespace {

using namespace detail;
using self_ptr = cluster_client_actor*;
using bytes_t = wire::bytes;

/// Chunk requests kept in flight per fetch.
constexpr int fetch_window = 2;

std::exception_ptr lost(const std::string& what) {
  return std::make_exception_ptr(object_lost_error(what));
}

} // namespace

bool fits_total(const remote_node& n, const resource_demand& d) {
  return d.fits_in(n.info.cpus, n.info.custom);
}

bool reconnecting_fits(const cluster_client_state& st, const resource_demand& d,
                       uint16_t node) {
  for (auto& [index, lost] : st.reconnecting)
    if ((node == 0 || index == node) && d.fits_in(lost.info.cpus, lost.info.custom))
      return true;
  return false;
}

void hold(remote_node& n, const resource_demand& d, double sign) {
  n.busy_cpus += sign * d.cpus;
  for (auto& [name, amount] : d.custom)
    n.busy_custom[name] += sign * amount;
}

void send_spec(self_ptr self, const caf::actor& manager, bytes_t spec) {
  if (self->state.specs.push(manager, std::move(spec)))
    self->send(self, flush_atom::value);
}

std::exception_ptr failure_error(const wire::failure_message& f) {
  if (f.type_name == "manta::unknown_function_error")
    return std::make_exception_ptr(unknown_function_error(f.message));
  if (f.type_name == "manta::actor_died_error")
    return std::make_exception_ptr(actor_died_error(f.message));
  if (f.type_name == "manta::object_lost_error")
    return std::make_exception_ptr(object_lost_error(f.message));
  return std::make_exception_ptr(task_error(f.type_name, f.message, f.task_name, f.node));
}

namespace {

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

void fail_fetch(self_ptr self, uint64_t fetch_id, const std::string& why);
void complete_fetch(self_ptr self, uint64_t fetch_id, bytes_t& data);

/// Tells `node` to drop its copy of `id`.
void free_on(self_ptr self, uint16_t node, uint64_t id) {
  auto n = self->state.nodes.find(node);
  if (n != self->state.nodes.end() && n->second.manager)
    self->send(n->second.manager, free_atom::value, self->state.link->token(), id);
}

void fail_placed(self_ptr self, uint64_t id, placed_task& p, const std::string& why) {
  if (p.task) {
    p.task->result->seal_error(lost("task '" + p.task->name() + "' (object "
                                    + to_string(object_id{id}) + ") " + why));
  } else if (auto it = self->state.fetch_of.find(id); it != self->state.fetch_of.end()) {
    fail_fetch(self, it->second, "it could not be rebuilt: its task " + why);
  }
}

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

/// The live nodes holding object `id` with a raw data path: `first` (its
/// home: the node that made it, or this one) if alive, then its copies.
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

/// Where `node` serves object bytes.
wire::holder holder_info(self_ptr self, uint16_t node) {
  auto& st = self->state;
  if (node == st.link->index())
    return {node, st.link->data_host(), st.link->data_port()};
  auto& info = st.nodes.at(node).info;
  return {node, info.host, info.data_port};
}

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
  msg.name = t.name();
  msg.args.reserve(prep.args.size());
  for (auto& a : prep.args)
    msg.args.push_back(std::move(*a));
  msg.demand = t.opts.resources;
  msg.max_retries = t.opts.max_retries;
  msg.retry_exceptions = t.opts.retry_exceptions;
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
  place_or_wait(self, id);
}

/// A task the local node has no room for: encode its arguments (fetching
/// object arguments that live on other nodes) and place it.
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

// -- results -------------------------------------------------------------------

void on_result(self_ptr self, const bytes_t& bytes) {
  auto& st = self->state;
  wire::result_message r;
  if (auto err = wire::decode(bytes, r); !err.empty())
    return; // nothing to attribute it to; the task's node is still watched
  if (on_actor_call_result(self, r))
    return;
  auto i = st.placed.find(r.task_id);
  if (i == st.placed.end())
    return;
  auto p = std::move(i->second);
  st.placed.erase(i);
  if (auto n = st.nodes.find(p.node); n != st.nodes.end())
    hold(n->second, p.demand, -1);
  // Its node reported the copies it kept before this result: any other
  // object it was to read is not there.
  for (auto& [object, alive] : p.reads)
    st.copies.settle(object, p.node);
  if (p.task) {
    auto& t = *p.task;
    switch (r.kind) {
      case wire::result_message::inline_value:
        t.seal_encoded(r.value);
        break;
      case wire::result_message::stored:
        t.seal_remote(std::make_shared<remote_object>(t.result->id(), p.node, r.stored_size,
                                                      std::move(p.spec), p.demand,
                                                      p.max_retries),
                      r.stored_size);
        break;
      case wire::result_message::failure:
        if (r.error.type_name == "manta::object_lost_error" && p.dispatches <= p.max_retries) {
          // A referenced argument could not be read (its node died): look
          // at the arguments again; a lost one is rebuilt from its lineage.
          dispatch(self, p.task);
          break;
        }
        t.result->seal_error(failure_error(r.error));
        break;
    }
  } else if (auto f = st.fetch_of.find(r.task_id); f != st.fetch_of.end()) {
    // A rebuilt object: fetch it from its new home, or take it inline.
    auto fetch_id = f->second;
    switch (r.kind) {
      case wire::result_message::inline_value:
        complete_fetch(self, fetch_id, r.value);
        break;
      case wire::result_message::stored: {
        p.rebuild->node = p.node;
        p.rebuild->encoded_size = r.stored_size;
        auto op = std::move(st.fetches[fetch_id]);
        st.fetches.erase(fetch_id);
        st.fetch_of.erase(r.task_id);
        for (auto& cb : op.done)
          fetch(self, op.obj, std::move(cb));
        break;
      }
      case wire::result_message::failure:
        fail_fetch(self, fetch_id, "its rebuild failed: " + r.error.message);
        break;
    }
  }
  place_waiting(self);
}

/// Lines the driver's tasks printed on worker `node`: printed here and kept
/// for task_logs, like lines of local tasks. Lines of tasks not (or no
/// longer) placed there, and of rebuilds, are dropped.
void on_logs(self_ptr self, uint16_t node, const bytes_t& bytes) {
  wire::log_batch b;
  if (auto err = wire::decode(bytes, b); !err.empty())
    return; // the lines are lost, the tasks are not
  auto& placed = self->state.placed;
  for (auto& line : b.lines) {
    auto i = placed.find(line.task_id);
    if (i == placed.end() || i->second.node != node || !i->second.task)
      continue;
    log_capture::surface(object_id{line.task_id}, i->second.task->name(), b.node,
                         line.to_stderr, line.text);
  }
  if (b.dropped > 0)
    std::fprintf(stderr,
                 "manta: %s dropped %llu lines printed by this driver's tasks (they came "
                 "faster than they could be sent)\n",
                 b.node.c_str(), static_cast<unsigned long long>(b.dropped));
}

// -- fetching objects ----------------------------------------------------------

void request_chunks(self_ptr self, uint64_t fetch_id) {
  auto& op = self->state.fetches.at(fetch_id);
  auto& n = self->state.nodes.at(op.node);
  uint64_t size = op.obj->encoded_size;
  for (int k = 0; k < fetch_window && op.requested < size; ++k) {
    auto len = std::min<uint64_t>(max_chunk_bytes, size - op.requested);
    self->send(n.manager, fetch_atom::value, self->state.link->token(), fetch_id,
               op.obj->id.value(), op.requested, len);
    op.requested += len;
  }
}

/// Rebuilds a lost object by re-running its task on a live node.
void rebuild(self_ptr self, uint64_t fetch_id) {
  auto& st = self->state;
  auto& op = st.fetches.at(fetch_id);
  auto& obj = *op.obj;
  if (obj.retries_left <= 0) {
    fail_fetch(self, fetch_id, "its node (node-" + std::to_string(obj.node.load())
                                 + ") died and its task has no retries left to rebuild it");
    return;
  }
  --obj.retries_left;
  op.node = 0;
  op.buffer.clear();
  op.requested = 0;
  auto id = obj.id.value();
  auto& p = st.placed[id];
  p.rebuild = op.obj;
  p.spec = obj.lineage;
  p.demand = obj.demand;
  p.max_retries = 0;
  place_or_wait(self, id);
}

/// Reads the object over the raw data path of its holders (several at
/// once) on a thread of its own; the bytes (or why not) come back as a
/// `fetched` message.
void fetch_raw(self_ptr self, uint64_t fetch_id, const std::vector<uint16_t>& holders) {
  auto& op = self->state.fetches.at(fetch_id);
  std::vector<object_source> sources;
  for (auto node : holders) {
    auto h = holder_info(self, node);
    sources.push_back({h.host, h.data_port});
  }
  std::thread{[gate = self->state.gate, me = caf::actor{self}, sources = std::move(sources),
               token = self->state.link->token(), id = op.obj->id.value(),
               size = op.obj->encoded_size.load(), fetch_id, attempt = op.attempt] {
    bytes_t data;
    auto err = fetch_object(sources, token, id, size, data, transfer_streams);
    std::lock_guard<std::mutex> guard{gate->mtx};
    if (gate->open)
      caf::anon_send(me, fetched_atom::value, fetch_id, attempt, std::move(err),
                     std::move(data));
  }}.detach();
}

/// Starts (or restarts) fetching from the object's holders (the node that
/// made it and the nodes that copied it), rebuilding it first if none is
/// left.
void start_fetch(self_ptr self, uint64_t fetch_id) {
  auto& st = self->state;
  auto& op = st.fetches.at(fetch_id);
  ++op.attempt;
  auto n = st.nodes.find(op.obj->node);
  if (n == st.nodes.end() || !n->second.manager) {
    auto copies = holders_of(self, op.obj->id.value(), op.obj->node);
    n = copies.empty() ? st.nodes.end() : st.nodes.find(copies.front());
    if (n == st.nodes.end()) {
      rebuild(self, fetch_id);
      return;
    }
  }
  op.node = n->first;
  op.buffer.clear();
  op.requested = 0;
  if (op.obj->encoded_size == 0) {
    complete_fetch(self, fetch_id, op.buffer);
    return;
  }
  if (auto holders = holders_of(self, op.obj->id.value(), op.node); !holders.empty()) {
    fetch_raw(self, fetch_id, holders);
    return;
  }
  op.buffer.reserve(op.obj->encoded_size);
  request_chunks(self, fetch_id);
}

/// The raw data path answered; on failure the object is read again as
/// ObjectChunk messages (if its node died, its down message restarts the
/// fetch anyway).
void on_fetched(self_ptr self, uint64_t fetch_id, uint32_t attempt, const std::string& err,
                bytes_t& data) {
  auto i = self->state.fetches.find(fetch_id);
  if (i == self->state.fetches.end() || i->second.attempt != attempt)
    return;
  if (err.empty()) {
    complete_fetch(self, fetch_id, data);
    return;
  }
  auto& op = i->second;
  if (op.node != op.obj->node) {
    // Its home is gone and every copy failed: none is left, so the object
    // is rebuilt from its lineage (if its retries allow).
    for (auto node : self->state.copies.erase(op.obj->id.value()))
      free_on(self, node, op.obj->id.value());
    start_fetch(self, fetch_id);
    return;
  }
  std::fprintf(stderr, "manta: %s; reading it through CAF instead\n", err.c_str());
  i->second.buffer.reserve(i->second.obj->encoded_size);
  request_chunks(self, fetch_id);
}

} // namespace

void fetch(self_ptr self, const remote_ptr& obj, fetch_callback cb) {
  auto& st = self->state;
  if (auto i = st.fetch_of.find(obj->id.value()); i != st.fetch_of.end()) {
    st.fetches.at(i->second).done.push_back(std::move(cb));
    return;
  }
  auto fetch_id = st.next_fetch++;
  auto& op = st.fetches[fetch_id];
  op.obj = obj;
  op.done.push_back(std::move(cb));
  st.fetch_of[obj->id.value()] = fetch_id;
  start_fetch(self, fetch_id);
}

namespace {

void finish_fetch(self_ptr self, uint64_t fetch_id, const std::string& err, bytes_t& in) {
  auto& st = self->state;
  auto i = st.fetches.find(fetch_id);
  if (i == st.fetches.end())
    return;
  auto data = std::move(in); // `in` may be the op's own buffer
  auto op = std::move(i->second);
  st.fetches.erase(i);
  st.fetch_of.erase(op.obj->id.value());
  for (size_t k = 0; k < op.done.size(); ++k) {
    if (k + 1 == op.done.size()) {
      op.done[k](err, data);
    } else {
      auto copy = data;
      op.done[k](err, copy);
    }
  }
}

void complete_fetch(self_ptr self, uint64_t fetch_id, bytes_t& data) {
  finish_fetch(self, fetch_id, {}, data);
}

void fail_fetch(self_ptr self, uint64_t fetch_id, const std::string& why) {
  bytes_t none;
  finish_fetch(self, fetch_id, why, none);
}

void on_chunk(self_ptr self, uint64_t fetch_id, const bytes_t& chunk) {
  auto& st = self->state;
  auto i = st.fetches.find(fetch_id);
  if (i == st.fetches.end())
    return;
  auto& op = i->second;
  auto n = st.nodes.find(op.node);
  if (n == st.nodes.end() || n->second.manager.address() != self->current_sender())
    return; // from a node this fetch no longer reads from
  if (auto err = wire::append_chunk(chunk, op.buffer); !err.empty()) {
    fail_fetch(self, fetch_id, "bad chunk: " + err);
    return;
  }
  if (op.buffer.size() >= op.obj->encoded_size)
    complete_fetch(self, fetch_id, op.buffer);
  else
    request_chunks(self, fetch_id);
}

// -- membership and failures ---------------------------------------------------

void node_lost(self_ptr self, uint16_t index) {
  auto& st = self->state;
  auto n = st.nodes.find(index);
  if (n == st.nodes.end())
    return;
  if (n->second.manager) {
    st.by_addr.erase(n->second.manager.address());
    st.specs.drop(n->second.manager);
  }
  st.nodes.erase(n);
  st.link->drop_worker(index);
  st.copies.drop_node(index); // its copies are gone with it
  // Tasks in flight there run again elsewhere while retries last; rebuilds
  // in flight there start over (while the object's retries last).
  std::vector<uint64_t> lost_here;
  for (auto& [id, p] : st.placed)
    if (p.node == index)
      lost_here.push_back(id);
  for (auto id : lost_here) {
    auto i = st.placed.find(id);
    if (i == st.placed.end())
      continue;
    auto& p = i->second;
    p.node = 0;
    if (p.rebuild) {
      st.placed.erase(i);
      if (auto f = st.fetch_of.find(id); f != st.fetch_of.end())
        rebuild(self, f->second);
    } else if (p.dispatches <= p.max_retries) {
      place_or_wait(self, id);
    } else {
      auto lost_task = std::move(p);
      st.placed.erase(i);
      fail_placed(self, id, lost_task,
                  "was lost: node-" + std::to_string(index) + " died while running it and its "
                    + std::to_string(lost_task.max_retries) + " retries are used up");
    }
  }
  // Fetches from there restart: the object is rebuilt from its lineage.
  std::vector<uint64_t> restart;
  for (auto& [fetch_id, op] : st.fetches)
    if (op.node == index)
      restart.push_back(fetch_id);
  for (auto fetch_id : restart)
    if (st.fetches.count(fetch_id) > 0)
      start_fetch(self, fetch_id);
  actors_lost(self, index);
  // Waiting work that nothing alive can run any more fails now.
  place_waiting(self);
}

/// Makes `hdl` (the node manager of worker `index`, just connected) that
/// worker's: monitored, placed on, counted in the cluster's resources.
void attach(self_ptr self, uint16_t index, caf::actor hdl) {
  auto& st = self->state;
  auto& n = st.nodes.at(index);
  self->monitor(hdl);
  st.by_addr[hdl.address()] = index;
  n.manager = std::move(hdl);
  n.last_heard = std::chrono::steady_clock::now();
  st.link->set_worker(n.info);
}

void connect(self_ptr self, const wire::node_record& rec) {
  auto& st = self->state;
  if (st.nodes.count(rec.index) > 0)
    return;
  st.reconnecting.erase(rec.index);
  st.nodes[rec.index].info = rec;
  ++st.connecting;
  auto mm = detail::cluster_middleman(self->system());
  auto index = rec.index;
  auto done = [self] {
    if (--self->state.connecting == 0) {
      for (auto& rp : self->state.ready)
        rp.deliver(true);
      self->state.ready.clear();
      place_waiting(self);
    }
  };
  self->request(mm, cluster::connect_timeout, caf::connect_atom::value, rec.host, rec.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto& st = self->state;
        auto n = st.nodes.find(index);
        if (n != st.nodes.end() && ptr)
          attach(self, index, caf::actor_cast<caf::actor>(std::move(ptr)));
        else
          st.nodes.erase(index);
        done();
      },
      [=, host = rec.host, port = rec.port](caf::error& err) {
        std::fprintf(stderr, "manta: cannot connect to worker node-%u: %s\n", unsigned{index},
                     connect_error(self->system(), err, host, port).c_str());
        self->state.nodes.erase(index);
        done();
      });
}

/// Frees the copies of objects this driver let go of (its own objects have
/// no free message of their own; results on workers are freed at once).
void free_copies_let_go(self_ptr self) {
  for (auto& [id, nodes] : self->state.copies.sweep())
    for (auto node : nodes)
      free_on(self, node, id);
}

/// A node reports that it now holds a copy of one of this driver's
/// objects, or that it no longer does.
void on_copy(self_ptr self, uint16_t node, const bytes_t& bytes) {
  wire::copy_message m;
  if (auto err = wire::decode(bytes, m); !err.empty())
    return;
  auto& copies = self->state.copies;
  if (!m.held)
    copies.remove(m.object_id, node);
  else if (!copies.confirm(m.object_id, node))
    free_on(self, node, m.object_id); // let go of meanwhile
}

/// A worker came back or will not: what waited for it is placed, or
/// fails if nothing can run it any more.
void reconnect_ended(self_ptr self) {
  auto creates = std::move(self->state.deferred_creates);
  self->state.deferred_creates.clear();
  for (auto& req : creates)
    create_remote_actor(self, std::move(req));
  place_waiting(self);
}

/// The next try to connect to a worker whose connection closed.
void schedule_reconnect(self_ptr self, uint16_t index) {
  auto& lost = self->state.reconnecting.at(index);
  auto delay = reconnect_delay * (1 << std::min(lost.attempts, 5));
  self->delayed_send(self, std::min<std::chrono::milliseconds>(delay, reconnect_max_delay),
                     reconnect_atom::value, index);
}

/// The connection to worker `index` closed. CAF cannot tell a cut
/// connection from a dead process, so the worker's work goes elsewhere
/// (node_lost); but while the head has not said it left, it may be alive
/// behind a broken link: the driver connects to it again.
void connection_lost(self_ptr self, uint16_t index) {
  auto& st = self->state;
  auto n = st.nodes.find(index);
  if (n == st.nodes.end())
    return;
  auto info = n->second.info;
  std::fprintf(stderr,
               "manta: the connection to node-%u (%s:%u) closed; its work goes elsewhere, and "
               "the driver reconnects while the head lists it\n",
               unsigned{index}, info.host.c_str(), unsigned{info.port});
  // Known as reconnecting first: its work placed again below may wait for it.
  st.reconnecting[index] = lost_connection{info, std::chrono::steady_clock::now(), 0};
  node_lost(self, index);
  schedule_reconnect(self, index);
}

/// One try to connect again to a worker whose connection closed; on
/// success it is a worker like any other again (with none of its old work:
/// that was placed elsewhere when the connection closed).
void reconnect(self_ptr self, uint16_t index) {
  auto& st = self->state;
  auto i = st.reconnecting.find(index);
  if (i == st.reconnecting.end() || st.nodes.count(index) > 0)
    return; // the head said it left, or it is back
  auto& lost = i->second;
  if (std::chrono::steady_clock::now() - lost.since > reconnect_window) {
    std::fprintf(stderr, "manta: gave up reconnecting to node-%u (%s:%u) after %d attempts\n",
                 unsigned{index}, lost.info.host.c_str(), unsigned{lost.info.port},
                 lost.attempts);
    st.reconnecting.erase(i);
    reconnect_ended(self);
    return;
  }
  ++lost.attempts;
  auto mm = detail::cluster_middleman(self->system());
  self->request(mm, reconnect_timeout, caf::connect_atom::value, lost.info.host, lost.info.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto& st = self->state;
        auto i = st.reconnecting.find(index);
        if (i == st.reconnecting.end() || st.nodes.count(index) > 0)
          return;
        if (!ptr) {
          schedule_reconnect(self, index);
          return;
        }
        std::fprintf(stderr, "manta: reconnected to node-%u after %d attempt(s)\n",
                     unsigned{index}, i->second.attempts);
        st.nodes[index].info = i->second.info;
        st.reconnecting.erase(i);
        attach(self, index, caf::actor_cast<caf::actor>(std::move(ptr)));
        reconnect_ended(self);
      },
      [=](caf::error&) {
        if (self->state.reconnecting.count(index) > 0)
          schedule_reconnect(self, index);
      });
}

/// Declares workers that missed their heartbeats dead (as if their
/// connection had closed) and pings the others.
void heartbeat(self_ptr self) {
  free_copies_let_go(self);
  auto now = std::chrono::steady_clock::now();
  std::vector<uint16_t> silent;
  for (auto& [index, n] : self->state.nodes) {
    if (!n.manager)
      continue;
    if (now - n.last_heard > heartbeat_timeout)
      silent.push_back(index);
    else
      self->send(n.manager, ping_atom::value, self->state.link->token());
  }
  for (auto index : silent) {
    std::fprintf(stderr,
                 "manta: node-%u did not answer for %lld ms: treated as dead, its work "
                 "goes elsewhere\n",
                 static_cast<unsigned>(index),
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          heartbeat_timeout)
                                          .count()));
    node_lost(self, index);
  }
  self->delayed_send(self, heartbeat_interval, heartbeat_atom::value);
}

/// The node that sent the message being handled, if it is a live worker.
std::optional<uint16_t> sender_node(self_ptr self) {
  auto i = self->state.by_addr.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (i == self->state.by_addr.end())
    return std::nullopt;
  return i->second;
}

/// Whether a message from another process carries the cluster token; a
/// peer without it is disconnected and logged (actors/token_gate.hpp).
bool vetted(self_ptr self, const std::string& token, const char* what) {
  return self->state.tokens.admit(self, "manta: the driver", self->state.link->token(), token,
                                what);
}

} // namespace

cluster_client_state::~cluster_client_state() {
  std::lock_guard<std::mutex> guard{gate->mtx};
  gate->open = false;
}

caf::behavior cluster_client(cluster_client_actor* self, detail::cluster* link) {
  self->state.link = link;
  self->delayed_send(self, heartbeat_interval, heartbeat_atom::value);
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto i = self->state.by_addr.find(msg.source);
    if (i != self->state.by_addr.end())
      connection_lost(self, i->second);
  });
  return {
    [=](dispatch_atom, task_ptr& t) { dispatch(self, std::move(t)); },
    [=](flush_atom) {
      self->state.specs.flush(self, self->state.link->token(), submit_atom::value,
                              submits_atom::value);
    },
    [=](results_atom, const std::string& token, const bytes_t& batch) {
      std::vector<bytes_t> items;
      if (vetted(self, token, "results") && sender_node(self)
          && wire::decode_batch(batch, items).empty())
        for (auto& bytes : items)
          on_result(self, bytes);
    },
    [=](result_atom, const std::string& token, const bytes_t& bytes) {
      // A node declared dead (it missed its heartbeats) may wake up and
      // answer; its tasks were given to others, so its word no longer counts.
      if (vetted(self, token, "result") && sender_node(self))
        on_result(self, bytes);
    },
    [=](actor_create_atom, create_request_ptr& req) { create_remote_actor(self, std::move(req)); },
    [=](actor_call_atom, call_request_ptr& req) { send_actor_call(self, std::move(req)); },
    [=](actor_release_atom, uint16_t node, uint64_t id) { release_remote_actor(self, node, id); },
    [=](actor_created_atom, const std::string& token, const bytes_t& bytes) {
      if (auto from = sender_node(self); from && vetted(self, token, "actor_created"))
        on_actor_created(self, *from, bytes);
    },
    [=](actor_dead_atom, const std::string& token, uint64_t id, const std::string& cause) {
      if (auto from = sender_node(self); from && vetted(self, token, "actor_dead"))
        on_actor_dead(self, *from, id, cause);
    },
    [=](fetched_atom, uint64_t fetch_id, uint32_t attempt, const std::string& err,
        bytes_t& data) { on_fetched(self, fetch_id, attempt, err, data); },
    [=](logs_atom, const std::string& token, const bytes_t& bytes) {
      if (auto index = sender_node(self); index && vetted(self, token, "logs"))
        on_logs(self, *index, bytes);
    },
    [=](heartbeat_atom) { heartbeat(self); },
    [=](pong_atom, const std::string& token) {
      if (auto index = sender_node(self); index && vetted(self, token, "pong"))
        self->state.nodes.at(*index).last_heard = std::chrono::steady_clock::now();
    },
    [=](chunk_atom, const std::string& token, uint64_t fetch_id, const bytes_t& chunk) {
      if (vetted(self, token, "chunk") && sender_node(self))
        on_chunk(self, fetch_id, chunk);
    },
    [=](missing_atom, const std::string& token, uint64_t fetch_id, const std::string& why) {
      if (vetted(self, token, "missing") && sender_node(self))
        fail_fetch(self, fetch_id, why);
    },
    [=](node_add_atom, const std::string& token, const bytes_t& info) {
      wire::node_record rec;
      if (vetted(self, token, "node_add") && wire::decode(info, rec).empty())
        connect(self, rec);
    },
    [=](node_del_atom, const std::string& token, uint16_t index) {
      if (vetted(self, token, "node_del")) {
        bool was_reconnecting = self->state.reconnecting.erase(index) > 0;
        node_lost(self, index);
        if (was_reconnecting)
          reconnect_ended(self);
      }
    },
    [=](reconnect_atom, uint16_t index) { reconnect(self, index); },
    [=](fetch_atom, remote_ptr& obj, std::shared_ptr<fetch_promise>& promise) {
      fetch(self, obj, [promise](const std::string& err, bytes_t& data) {
        promise->set_value({err, std::move(data)});
      });
    },
    [=](free_atom, uint16_t node, uint64_t id) {
      // The owner's last reference is gone: the object and its copies.
      free_on(self, node, id);
      for (auto copy : self->state.copies.erase(id))
        free_on(self, copy, id);
    },
    [=](copy_atom, const std::string& token, const bytes_t& bytes) {
      if (auto index = sender_node(self); index && vetted(self, token, "copy"))
        on_copy(self, *index, bytes);
    },
    [=](state_atom a, const std::string& token,
        const bytes_t& query) -> caf::result<bytes_t> {
      // The head registered this client as the driver's member; the
      // driver's node manager answers for the node, as on a worker.
      if (!vetted(self, token, "state"))
        return caf::make_error(caf::sec::invalid_argument, "wrong cluster token");
      auto* rt = detail::runtime::current();
      if (rt == nullptr)
        return caf::make_error(caf::sec::runtime_error, "the driver's runtime is not running");
      self->delegate(rt->node_manager(), a, token, query);
      return caf::delegated<bytes_t>{};
    },
    [=](nodes_atom) -> caf::result<bool> {
      // Answers once the workers known so far are connected (or failed).
      if (self->state.connecting == 0)
        return true;
      self->state.ready.push_back(self->make_response_promise());
      return caf::delegated<bool>{};
    },
  };
}

} // namespace manta::actors
