// Calls through actor handles that a worker read from another node
// (manta/store/lent_handles.hpp): the worker's node manager sends each to
// the actor's home, the owner that lent the handle, over the link that
// owner opened to this worker, and completes it when the home's TaskResult
// comes back. Calls leave in the order the stand-in's engine sends them,
// and the home queues them in arrival order, so one caller's calls keep
// their order. The refs a call's arguments hold stay pinned after its
// answer until the home echoes `args_read_delta` (contained_refs.hpp):
// the home sends its +1s for them from another actor than the answer, on
// the route the echo takes.
#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client.hpp"
#include "actors/node_manager.hpp"
#include "manta/actor_errors.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/core/runtime.hpp"
#include "manta/net/wire.hpp"
#include "manta/net/wire_failure.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

namespace manta::actors {

namespace {

void complete(const detail::call_request_ptr& req, detail::call_outcome out) {
  req->ctx.core->complete(req->ctx, std::move(out));
}

detail::call_outcome died(std::string why) {
  detail::call_outcome out;
  out.error = std::make_exception_ptr(actor_died_error(why));
  return out;
}

std::string node_name(uint16_t index) {
  return "node-" + std::to_string(index);
}

/// Keeps the pins of answered call `id`'s arguments until its home echoes
/// the question this sends it (after its +1s for them, the same route);
/// lets them go at once if the home is gone (it counts no more).
void await_args_echo(node_manager_actor* self, uint64_t id, detail::call_request_ptr& req,
                     const caf::actor_addr& home) {
  if (req->lent.empty())
    return;
  auto to = caf::actor_cast<caf::actor>(home);
  if (!to)
    return;
  self->state.answered_args[id] = answered_call_args{std::move(req->lent), home};
  self->send(to, actor_release_atom::value, self->state.token, id, detail::args_read_delta,
             detail::runtime::current()->node_index());
}

} // namespace

void forward_call(node_manager_actor* self, detail::call_request_ptr req) {
  auto home = self->state.owners.owner_on(req->node);
  auto owner = home ? caf::actor_cast<caf::actor>(*home) : caf::actor{};
  if (!owner) {
    complete(req,
             died("actor " + req->ctx.core->display_name() + " lives on " + node_name(req->node)
                  + ", which has no open link to this worker "
                    "(the handle came from there, and that link closed)"));
    return;
  }
  auto id = req->ctx.call->result->id().value();
  auto spec = req->spec;
  self->state.forwarded[id] = forwarded_call{std::move(req), *home};
  self->send(owner, submit_atom::value, self->state.token, std::move(spec));
}

void forwarded_results(node_manager_actor* self, const std::vector<std::vector<char>>& results) {
  for (auto& bytes : results) {
    detail::wire::result_message r;
    if (!detail::wire::decode(bytes, r).empty())
      continue;
    auto i = self->state.forwarded.find(r.task_id);
    if (i == self->state.forwarded.end())
      continue;
    auto req = std::move(i->second.req);
    await_args_echo(self, r.task_id, req, i->second.home);
    self->state.forwarded.erase(i);
    switch (r.kind) {
      case detail::wire::result_message::inline_value: {
        auto borrowed = detail::refs_borrowed_here();
        complete(req, req->ctx.call->decode_result(r.value));
        // Refs inside it, read here: after this node's +1s for them (the
        // same route), the home lets go of the result's pins on them.
        if (detail::refs_borrowed_here() != borrowed)
          detail::tell_home(req->node, r.task_id, detail::result_read_delta);
        break;
      }
      case detail::wire::result_message::stored: {
        detail::call_outcome out;
        out.error = std::make_exception_ptr(
          error("the result of " + req->ctx.core->display_name() + "." + req->ctx.call->method_name
                + " (" + std::to_string(r.stored_size) + " bytes) is larger than "
                + std::to_string(inline_result_limit)
                + " bytes, which a call through a handle from another node cannot bring back "
                  "yet; return a smaller value (or put the data in the object store and return "
                  "its size)"));
        complete(req, std::move(out));
        break;
      }
      case detail::wire::result_message::failure: {
        detail::call_outcome out;
        out.error = detail::from_failure(r.error);
        out.retryable = r.error.retryable;
        complete(req, std::move(out));
        break;
      }
    }
  }
}

void forwarded_args_read(node_manager_actor* self, uint64_t id) {
  self->state.answered_args.erase(id);
}

void forwarded_home_lost(node_manager_actor* self, const caf::actor_addr& home) {
  std::erase_if(self->state.answered_args, [&](auto& e) { return e.second.home == home; });
  std::vector<detail::call_request_ptr> lost;
  for (auto i = self->state.forwarded.begin(); i != self->state.forwarded.end();) {
    if (i->second.home == home) {
      lost.push_back(std::move(i->second.req));
      i = self->state.forwarded.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& req : lost)
    complete(req,
             died("the link to " + node_name(req->node) + ", the home of actor "
                  + req->ctx.core->display_name() + ", closed before the call's result came back"));
}

} // namespace manta::actors
