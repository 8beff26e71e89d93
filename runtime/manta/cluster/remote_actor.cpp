#include "manta/cluster/remote_actor.hpp"
#include "manta/store/node_messages.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client.hpp"
#include "manta/cluster/actor_choice.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/actor/far_actors.hpp"
#include "manta/actor/attached_actor.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/cluster/code_loader.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/core/demangle.hpp"
#include "manta/core/job_id.hpp"
#include "manta/core/caf_config.hpp"
#include "manta/core/runtime.hpp"
#include "manta/actor/typed_call.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>

namespace manta::detail {

namespace {

/// The driver's cluster client, or throws naming why there is none.
caf::actor client_or_throw(const std::string& what) {
  auto client = cluster::client();
  if (!client)
    throw error("manta: " + what
                + ": this process is no longer part of a cluster (the "
                  "runtime shut down or left it)");
  return client;
}

/// Whether this process is a worker node of a cluster (it has no cluster
/// client: what it sends to other nodes goes through its node manager).
bool on_worker() {
  auto* rt = runtime::current();
  return rt != nullptr && cluster_worker(*rt);
}

} // namespace

// The waits are the runtime's actor directory's (actor_directory.hpp): with
// no runtime there is no actor to wait for.
std::string restart_wait(uint64_t core_id) {
  auto* rt = runtime::live();
  return rt != nullptr ? rt->actors().restart_wait(core_id) : std::string{};
}

void set_restart_wait(uint64_t core_id, std::string what) {
  if (auto* rt = runtime::live())
    rt->actors().set_restart_wait(core_id, std::move(what));
}

uint16_t node_of(const remote_actor& where) {
  return where.node;
}

void cancel_on_other_node(uint64_t call, bool recursive) {
  if (auto client = cluster::client())
    caf::anon_send(client, actors::cancel_atom::value, call, false, recursive);
}

remote_actor::~remote_actor() {
  if (auto client = cluster::client())
    caf::anon_send(client, actors::actor_release_atom::value, node, id);
}

std::vector<char> encode_object(const object_slot& slot) {
  if (slot.remote() && !slot.resident()) {
    wire::bytes out;
    if (auto err = fetch_remote_bytes(slot.remote(), out); !err.empty())
      throw object_lost_error("object " + to_string(slot.id()) + " is lost: " + err);
    return out;
  }
  if (slot.codec() == nullptr)
    throw error("an object argument of type " + demangle(slot.type().name())
                + " cannot be serialized, so it cannot be sent to another node");
  auto value = slot.shared_value();
  encoded_bytes e;
  if (auto err = slot.codec()->encode(value.get(), e))
    throw error("an object argument does not encode: " + error_text(err));
  return std::vector<char>(e.data, e.data + e.size);
}

void actor_call::encode_args(std::vector<std::vector<char>>&) const {
  throw error("method '" + method_name
              + "' cannot be called on an actor on another node: " + travel_blocker());
}

call_outcome actor_call::decode_result(std::span<const char> bytes) const {
  call_outcome out;
  out.error = std::make_exception_ptr(
    error("the result of method '" + method_name + "' (" + std::to_string(bytes.size())
          + " bytes from another node) does not decode; do both nodes run the same binary?"));
  return out;
}

void actor_ctor::encode_args(std::vector<std::vector<char>>&) const {
  throw error("the actor cannot be created on another node: " + travel_blocker());
}

bool place_on_other_node(const actor_options& opts) {
  auto* rt = runtime::current();
  auto* link = rt == nullptr ? nullptr : rt->cluster_link();
  if (link == nullptr)
    return false;
  bool driver = link->kind() == cluster::role::driver;
  // SPREAD's turns: this driver process's SPREAD actors, counted.
  static std::atomic<size_t> next{0};
  size_t turn = driver && opts.strategy.kind == scheduling_strategy::spread
                  ? next.fetch_add(1, std::memory_order_relaxed)
                  : 0;
  bool fits_here = opts.resources.fits_in(rt->total_cpus(), rt->total_custom());
  bool fits_elsewhere = driver && !fits_here && link->feasible(opts.resources);
  return !actor_stays_local(opts.strategy, driver, link->index(), fits_here, fits_elsewhere,
                            link->num_workers(), turn);
}

/// A handle to an actor another driver made (attached_actor.hpp): the
/// client records it; nothing is sent to the node until the first call.
std::shared_ptr<remote_actor> attach_on_other_node(actor_core& core, const attach_ctor& at) {
  // On a worker, a handle read from its owner (lent_handles.hpp): calls go
  // back to the owner through the node manager's link to it.
  if (on_worker())
    return std::make_shared<remote_actor>(at.node(), at.id());
  auto req = std::make_shared<actor_create_request>();
  req->actor_id = at.id();
  req->attach = at.node();
  req->core = core.weak_from_this();
  auto answer = req->done.get_future();
  caf::anon_send(client_or_throw("attaching to actor " + core.display_name()),
                 actors::actor_create_atom::value, req);
  if (answer.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    throw error("actor " + core.display_name() + ": the driver's cluster client did not answer");
  auto placed = answer.get();
  if (!placed.first.empty())
    throw error("actor " + core.display_name() + ": " + placed.first);
  return std::make_shared<remote_actor>(at.node(), at.id());
}

std::shared_ptr<remote_actor> create_on_other_node(actor_core& core, actor_ctor& ctor,
                                                   int restarts) {
  auto& rt = runtime::require("creating an actor on another node");
  auto& opts = core.options();
  if (auto* at = dynamic_cast<attach_ctor*>(&ctor))
    return attach_on_other_node(core, *at);
  const auto& cls = lookup_actor_class(core.type());
  if (!ctor.remote_capable())
    throw error("actor " + core.display_name() + " cannot be created on another node: "
                + ctor.travel_blocker() + "; or keep the actor on this node");
  wire::actor_message m;
  m.actor_id = rt.next_object_id().value();
  m.class_name = cls.name;
  m.constructor_key = ctor.key();
  m.code = code_for(cls.library);
  m.name = opts.name;
  // The refs and handles in the arguments are held by the instance they
  // make (its own container: never a task's result it is made in).
  contained_refs ctor_args;
  {
    lend_scope lending;
    ctor.encode_args(m.args);
    ctor_args = contained_refs{lending.take()};
  }
  m.demand = opts.resources;
  m.max_restarts = opts.max_restarts < 0 ? -1 : std::max(0, opts.max_restarts - restarts);
  m.max_task_retries = opts.max_task_retries;
  m.retry_exceptions = opts.retry_exceptions;
  m.retry_exception_types = opts.retry_exception_types;
  m.max_concurrency = opts.max_concurrency.value_or(0);
  m.restarts = restarts;
  m.detached = opts.detached;
  m.job_id = job_id();
  auto req = std::make_shared<actor_create_request>();
  req->actor_id = m.actor_id;
  req->spec = wire::encode(m);
  req->demand = opts.resources;
  req->where = opts.strategy;
  req->core = core.weak_from_this();
  req->restart = restarts > 0;
  auto answer = req->done.get_future();
  caf::anon_send(client_or_throw("creating actor " + core.display_name()),
                 actors::actor_create_atom::value, std::move(req));
  // The cluster client answers every creation within its bounds (see
  // expire_creates: the reconnect window while no worker can take it, then
  // twice the connection timeout for the node's answer). This wait is the
  // backstop that keeps a pool thread from blocking for good regardless.
  auto limit = actors::reconnect_window + 2 * connection_timeout(rt.system())
               + std::chrono::seconds(10);
  std::pair<std::string, uint16_t> placed;
  try {
    if (answer.wait_for(limit) != std::future_status::ready)
      throw error("actor " + core.display_name() + ": no answer to its creation within "
                  + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count())
                  + " s (the driver's cluster client is stuck or gone); it restarts if "
                    "max_restarts allows");
    placed = answer.get();
  } catch (const std::future_error&) {
    throw error("actor " + core.display_name()
                + ": the runtime left the cluster while creating it");
  }
  if (!placed.first.empty())
    throw error(placed.first);
  auto made = std::make_shared<remote_actor>(placed.second, m.actor_id);
  made->ctor_args = std::move(ctor_args);
  return made;
}

call_outcome call_on_other_node(const remote_actor& where, const run_context& ctx,
                                const std::string& task_name) {
  call_outcome out;
  try {
    auto& c = *ctx.call;
    wire::task_message m;
    m.task_id = c.result->id().value();
    m.function_name = c.method_name;
    m.signature = c.signature();
    m.layout_hash = c.layout_hash();
    m.name = task_name;
    // The refs written in its arguments are pinned by the call until it
    // ends (contained_refs.hpp); not part of a task's result.
    bool worker = on_worker();
    lend_scope lending;
    c.encode_args(m.args);
    m.demand = resource_demand{0.0, {}};
    m.actor_id = where.id;
    m.job_id = job_id();
    m.item_window = c.item_window;
    auto req = std::make_shared<remote_call_request>();
    req->ctx = ctx;
    req->keep = ctx.core->shared_from_this();
    req->node = where.node;
    req->spec = wire::encode(m);
    req->lent = contained_refs{lending.take()};
    // From a worker, through its node manager to the actor's home (the
    // owner that lent the handle: lent_handles.hpp).
    auto route = worker ? runtime::current()->node_manager()
                        : client_or_throw("calling " + task_name);
    caf::anon_send(route, actors::actor_call_atom::value, std::move(req));
    out.pending = true;
  } catch (...) {
    out.error = std::current_exception();
  }
  return out;
}

} // namespace manta::detail
