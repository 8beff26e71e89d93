#include "actors/cluster_actors.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "manta/cluster/actor_choice.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/core/demangle.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/net/wire_failure.hpp"
#include "manta/errors.hpp"
#include "manta/core/runtime.hpp"
#include "manta/placement/placement_groups.hpp"

#include <caf/all.hpp>

#include <optional>
#include <vector>

namespace manta::actors {

namespace {

using namespace detail;

std::string node_name(uint16_t index) {
  return "node-" + std::to_string(index);
}

/// Load of a node as the share of its CPUs booked by this driver.
double load(const remote_node& n) {
  return n.busy_cpus / std::max(n.info.cpus, 1e-9);
}

/// Where a new actor goes (cluster/actor_choice.hpp, the rule the simulator
/// shares): its affinity, the next worker for SPREAD, or the least-loaded
/// worker that can ever fit it. Sets `why` if none.
std::optional<uint16_t> pick_node(self_ptr self, const actor_create_request& req,
                                  std::string& why) {
  auto& st = self->state;
  static thread_local std::vector<node_view> others;
  others.clear();
  for (auto& [index, n] : st.nodes)
    others.push_back({index, n.manager && fits_total(n, req.demand), false, load(n)});
  auto choice = st.actors.choose(req.where, others);
  if (choice.kind == node_choice::run_on)
    return static_cast<uint16_t>(choice.node);
  if (choice.kind == node_choice::pinned_away) {
    auto* i = st.nodes.find(req.where.node);
    why = "it is pinned to node " + std::to_string(req.where.node)
          + (i == nullptr ? ", which is not alive in the cluster"
                          : ", which can never fit its demand of " + req.demand.to_string())
          + "; pin it to a live node or use node_affinity(node, /*soft=*/true)";
  } else {
    why = "no live worker node offers " + req.demand.to_string();
  }
  return std::nullopt;
}

void complete(const call_request_ptr& req, call_outcome out) {
  req->ctx.core->complete(req->ctx, std::move(out));
}

/// Tells the head that named actor `a` (id `id`) lives on its node now:
/// the head records it (and keeps it in its store, if it has one), so that
/// it is found by name after the head was replaced.
void report_named(self_ptr self, uint64_t id, const placed_actor& a) {
  auto& st = self->state;
  auto core = a.core.lock();
  if (a.name.empty() || !core || !st.head.registry())
    return;
  named_actor_record r;
  r.name = a.name;
  r.ns = a.ns;
  r.cls = demangle(core->type().name());
  r.node = a.node;
  r.owner = st.link->index();
  r.actor_id = id;
  r.detached = core->options().detached;
  self->send(st.head.registry(), actor_put_atom::value, st.link->token(), encode_actor(r));
}

call_outcome failed(std::exception_ptr e) {
  call_outcome out;
  out.error = std::move(e);
  return out;
}

} // namespace

void create_remote_actor(self_ptr self, create_request_ptr req) {
  if (req->attach != 0) {
    // A handle to an actor another driver made: nothing to create, its
    // calls go to the node that has it.
    if (self->state.nodes.connected(req->attach) == nullptr) {
      req->done.set_value(
        {"the actor lives on " + node_name(req->attach) + ", which this driver is not connected to",
         0});
      return;
    }
    auto& a = self->state.actors.record(req->actor_id);
    a.core = req->core;
    a.node = req->attach;
    a.attached = true;
    req->done.set_value({std::string{}, req->attach});
    return;
  }
  std::string why;
  if (auto pinned = runtime::here().placements().pin(req->where, req->demand, why); pinned <= 0) {
    if (pinned == 0) // its placement group is not reserved yet
      self->state.actors.defer(std::move(req)); // see finish_try
    else
      req->done.set_value({"actor cannot be placed: " + why, 0});
    return;
  }
  if (req->where.kind == scheduling_strategy::node_affinity
      && req->where.node == self->state.link->index()) {
    req->done.set_value({"actor cannot be placed: its bundle of the placement group went to "
                         "this driver's own node (the group was not reserved yet when the "
                         "actor was created, or the bundle was placed again after its node "
                         "died), where an actor made for another node cannot move; create it "
                         "after pg.ready() (or pg.wait(timeout))",
                         0});
    return;
  }
  auto node = pick_node(self, *req, why);
  auto core = req->core.lock();
  bool pinned = req->where.kind == scheduling_strategy::node_affinity && !req->where.soft;
  // A restart whose node died waits for a node that fits to join (Ray's
  // actor waits in PENDING), as any creation waits for a worker being
  // reconnected; both are bounded by expire_creates.
  if (!node && core
      && (self->state.nodes.reconnecting_fits(req->demand, pinned ? req->where.node : 0)
          || (req->restart && !pinned))) {
    if (req->restart)
      set_restart_wait(core->id(), "waits for a node that offers " + req->demand.to_string()
                                     + " to join (none alive fits; up to "
                                     + std::to_string(reconnect_window.count()) + " s)");
    self->state.actors.defer(std::move(req)); // see reconnect_ended
    return;
  }
  if (core)
    set_restart_wait(core->id(), {});
  if (!node || !core) {
    req->done.set_value(
      {"actor " + (core ? core->display_name() : std::string{"?"}) + " cannot be placed: " + why,
       0});
    return;
  }
  auto& n = self->state.nodes.at(*node);
  hold(n, req->demand, 1);
  auto& a = self->state.actors.record(req->actor_id);
  a.core = req->core;
  a.node = *node;
  a.demand = req->demand;
  a.creating = req;
  a.asked = std::chrono::steady_clock::now();
  self->send(n.manager, actor_create_atom::value, self->state.link->token(), req->spec);
}

void on_actor_created(self_ptr self, uint16_t from, const wire::bytes& bytes) {
  wire::actor_created_message m;
  if (!wire::decode(bytes, m).empty())
    return; // nothing to attribute it to; the creation fails with its node
  auto* a = self->state.actors.find(m.actor_id);
  if (a == nullptr || a->node != from || !a->creating)
    return;
  auto req = std::move(a->creating);
  if (m.error.empty()) {
    if (auto core = req->core.lock(); core && !core->options().name.empty()) {
      a->name = core->options().name;
      a->ns = core->options().ns;
      report_named(self, m.actor_id, *a);
    }
    req->done.set_value({std::string{}, from});
    return;
  }
  release_remote_actor(self, from, m.actor_id);
  req->done.set_value({node_name(from) + " refused to create the actor: " + m.error, 0});
}

void send_actor_call(self_ptr self, call_request_ptr req) {
  auto* n = self->state.nodes.connected(req->node);
  if (n == nullptr) {
    // Its node died after the call left the queue; the death kills the
    // instance, so this answer only lands if the core has not noticed yet.
    complete(req, failed(std::make_exception_ptr(actor_died_error(
                    "the node of actor " + req->ctx.core->display_name() + " ("
                    + node_name(req->node) + ") died before the call reached it"))));
    return;
  }
  auto id = req->ctx.call->result->id().value();
  self->state.actors.add_call(id, req);
  send_spec(self, n->manager, req->spec);
}

bool on_actor_call_result(self_ptr self, wire::result_message& r,
                          const wire::shared_bytes* beside) {
  auto req = self->state.actors.take_call(r.task_id);
  if (!req)
    return false;
  switch (r.kind) {
    case wire::result_message::inline_value: {
      auto borrowed = refs_borrowed_here();
      // A value that came beside its message is a buffer of its own here,
      // which a byte vector result takes as it is.
      complete(req, beside != nullptr ? req->ctx.call->take_result(beside->take())
                                      : req->ctx.call->decode_result(r.value));
      // Refs inside it, read here: after this node's +1s for them, the
      // actor's node lets go of the result's pins on them.
      if (refs_borrowed_here() != borrowed)
        tell_home(req->node, r.task_id, result_read_delta);
      break;
    }
    case wire::result_message::stored: {
      // A large result stays on the actor's node until fetched; the object
      // record frees it there once the bytes are here.
      auto obj = std::make_shared<remote_object>(object_id{r.task_id}, req->node, r.stored_size,
                                                 wire::bytes{}, resource_demand{0.0, {}}, 0);
      fetch(self, obj, [req, obj](const std::string& err, wire::bytes& data) {
        if (!err.empty())
          complete(req, failed(std::make_exception_ptr(
                          object_lost_error("the result of " + req->ctx.core->display_name() + "."
                                            + req->ctx.call->method_name + " is lost: " + err))));
        else
          complete(req, req->ctx.call->decode_result(data));
      });
      break;
    }
    case wire::result_message::failure: {
      auto out = failed(detail::from_failure(r.error));
      out.retryable = r.error.retryable;
      complete(req, std::move(out));
      break;
    }
  }
  return true;
}

void release_remote_actor(self_ptr self, uint16_t node, uint64_t id) {
  auto& st = self->state;
  auto* a = st.actors.find(id);
  if (a == nullptr)
    return;
  if (a->attached) {
    st.actors.erase(id); // another driver's actor: it stays
    return;
  }
  auto demand = a->demand;
  if (!a->name.empty() && st.head.registry())
    self->send(st.head.registry(), actor_drop_atom::value, st.link->token(), a->ns, a->name, id);
  st.actors.erase(id);
  auto* n = st.nodes.connected(node);
  if (n == nullptr)
    return;
  hold(*n, demand, -1);
  self->send(n->manager, actor_kill_atom::value, st.link->token(), id);
}

void on_named_request(self_ptr self, named_request_ptr req) {
  auto& st = self->state;
  if (req->leaving) {
    // The runtime shuts down and kills its actors: the detached ones on
    // workers are let go of instead, like handles of another driver's.
    st.actors.keep_detached();
    return;
  }
  if (req->kill) {
    if (auto* n = st.nodes.connected(req->node))
      self->send(n->manager, actor_kill_atom::value, st.link->token(), req->id);
    if (st.head.registry())
      self->send(st.head.registry(), actor_drop_atom::value, st.link->token(), req->ns, req->name,
                 req->id);
    return;
  }
  if (!st.head.registry()) {
    req->done.set_value({std::string{}, "this driver is not connected to the head now"});
    return;
  }
  self
    ->request(st.head.registry(), std::chrono::seconds(2), actor_find_atom::value, st.link->token(),
              req->ns, req->name)
    .then(
      [req](const std::string& record) {
        req->done.set_value({record, std::string{}});
      },
      [req](caf::error& err) {
        req->done.set_value({std::string{}, caf::to_string(err)});
      });
}

void on_actor_dead(self_ptr self, uint16_t from, uint64_t id, const std::string& cause) {
  auto* a = self->state.actors.find(id);
  if (a == nullptr || a->node != from)
    return;
  if (auto core = a->core.lock())
    core->kill(cause + " (on " + node_name(from) + ")", false);
}

void actors_lost(self_ptr self, uint16_t index, const std::string& why) {
  auto& st = self->state;
  st.actors.drop_calls_on(index);
  std::vector<std::shared_ptr<actor_core>> dead;
  for (auto& a : st.actors.take_on(index)) {
    if (auto req = std::move(a.creating))
      req->done.set_value({node_name(index) + " " + why + ", while creating the actor", 0});
    else if (auto core = a.core.lock())
      dead.push_back(std::move(core));
  }
  // Running calls re-run on the restarted instance while max_task_retries
  // allows (Ray's rule for actor tasks); the others fail.
  for (auto& core : dead)
    core->kill("its node " + node_name(index) + " " + why, true);
}

void report_named_actors(self_ptr self) {
  self->state.actors.for_each_created(
    [self](uint64_t id, const placed_actor& a) { report_named(self, id, a); });
}

void expire_creates(self_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  // Waiting for a worker being reconnected: as long as reconnects last.
  for (auto& req : st.actors.take_expired(now, reconnect_window)) {
    auto core = req->core.lock();
    if (core)
      set_restart_wait(core->id(), {});
    req->done.set_value({"actor " + (core ? core->display_name() : std::string{"?"})
                           + " cannot be placed: it waited "
                           + std::to_string(reconnect_window.count())
                           + (req->restart ? " s for a node offering " + req->demand.to_string()
                                               + " to join or be reconnected, and none came"
                                           : " s for a worker to be reconnected, and none "
                                             "came back"),
                         0});
  }
  // Sent to a node that stays silent: a live node answers at once (it
  // answers pings, which travel behind the spec on the same connection), so
  // the spec or its answer was lost with a connection that closed.
  auto limit = 2 * st.silence_limit;
  for (auto [id, node] : st.actors.unanswered(now, limit)) {
    auto req = std::move(st.actors.find(id)->creating);
    release_remote_actor(self, node, id); // in case it comes to life there
    req->done.set_value({node_name(node) + " did not answer the creation of the actor within "
                           + std::to_string(limit.count())
                           + " ms (twice the connection timeout); it restarts elsewhere if "
                             "max_restarts allows",
                         0});
  }
}

} // namespace manta::actors
