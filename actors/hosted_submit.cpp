#include "actors/node_manager.hpp"
#include "manta/store/object_store.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/generator_items.hpp"
#include "actors/hosted_queue.hpp"
#include "actors/hosted_results.hpp"
#include "actors/lane_direct.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_registry.hpp"
#include "manta/cluster/build_fingerprint.hpp"
#include "manta/cluster/code_loader.hpp"
#include "manta/cluster/remote_task.hpp"
#include "manta/core/demangle.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/placement/placement_groups.hpp"
#include "manta/sched/function_registry.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/net/wire.hpp"

#include <caf/all.hpp>

/// The TaskSpecs other nodes send this node's manager (`submit_hosted`):
/// checked against what this node has and runs, then hosted until their
/// results are sealed.
namespace manta::actors {

namespace {

using detail::error_kind;

/// Tracks a task or call until its result is sealed, then answers `owner`
/// (unless the task's thread did: `early`).
void host(node_manager_actor* self, const caf::actor& owner, uint64_t id,
          std::shared_ptr<void> keep, detail::slot_ptr result, std::string name, bool encoded,
          std::shared_ptr<early_answer_state> early = nullptr, direct_task* direct = nullptr) {
  auto& h = self->state.running[id];
  h.owner = owner;
  h.keep = std::move(keep);
  h.result = std::move(result);
  h.name = std::move(name);
  h.encoded = encoded;
  h.early = early;
  if (direct != nullptr) { // counted (and its id taken) by the data path
    h.counted = std::move(direct->counted);
    h.lane_mark = std::move(direct->mark);
  } else {
    h.counted = hosted_counter{self->state.hosted, early};
    if (self->state.direct) // lane on
      h.lane_mark = lane_id_mark::take(self->state.direct, id);
  }
  h.waiter = std::make_unique<remote_done_waiter>();
  h.waiter->manager = caf::actor{self};
  h.waiter->id = id;
  h.waiter->early = std::move(early);
  h.waiter->answered = self->state.answered;
  if (!h.result->add_waiter(h.waiter.get()))
    self->send(self, done_atom::value, id);
}

/// A call of a hosted actor: queued in the actor like a local call.
void submit_call(node_manager_actor* self, const caf::actor& owner,
                 detail::wire::task_message& msg) {
  auto id = msg.task_id;
  auto here = detail::runtime::node_name();
  auto refuse = [&](error_kind kind, std::string why) {
    send_result(self, owner, failure_result(id, msg.name, kind, std::move(why)));
  };
  // A hosted actor, or one of this node's own whose handle this node lent
  // to the sender (manta/store/lent_handles.hpp).
  auto a = self->state.actors.find(msg.actor_id);
  auto anchor = a != self->state.actors.end() ? a->second.anchor : detail::lent_actor(msg.actor_id);
  if (!anchor)
    return refuse(error_kind::actor_died, "actor " + to_string(object_id{msg.actor_id})
                                            + " is not on " + here
                                            + " (it was killed or its owner let go of it)");
  auto& core = anchor->core;
  const auto& cls = detail::lookup_actor_class(core->type());
  auto* m = detail::find_method(cls, msg.function_name);
  if (m == nullptr || m->type->name() != msg.signature)
    return refuse(error_kind::unknown_function,
                  "actor class " + cls.name + " on " + here + " has no method '" + msg.function_name
                    + "' of type " + detail::demangle(msg.signature.c_str())
                    + "; do both nodes run the same binary?");
  if (m->layout != nullptr)
    if (auto why = detail::call_layout_refusal("method " + cls.name + "." + msg.function_name, here,
                                               m->layout(), msg.layout_hash);
        !why.empty())
      return refuse(error_kind::unknown_function, std::move(why));
  if (m->from_wire == nullptr)
    return refuse(error_kind::generic, "method " + cls.name + "." + msg.function_name
                                         + " has types that cannot be serialized");
  detail::call_ptr call;
  // What goes through the node manager makes the result follow it there
  // (early_call_answer): a generator method's items, the +1s of the refs
  // read since here.
  auto via = std::make_shared<std::atomic<bool>>(false);
  auto borrowed = detail::refs_borrowed_in_process();
  try {
    std::vector<std::span<const char>> args(msg.args.begin(), msg.args.end());
    // A generator method's call takes its item sender from here.
    auto emit = item_emitter(self, owner, id, msg.item_window);
    emit.send = [send = std::move(emit.send), via](uint64_t index, std::vector<char> bytes) {
      via->store(true, std::memory_order_release);
      send(index, std::move(bytes));
    };
    detail::item_emitter_scope scope{&emit};
    call = m->from_wire(*m, args);
  } catch (const std::exception& e) {
    return refuse(error_kind::generic, std::string{"bad arguments: "} + e.what());
  }
  auto slot = std::make_shared<detail::object_slot>(
    &detail::runtime::here("an actor call from another node").store(), object_id{id});
  call->result = slot;
  call->owner_retries = true;
  detail::task_events::on_call_submit(*call);
  auto early = std::make_shared<early_answer_state>();
  early->owner = owner;
  host(self, owner, id, call, slot, msg.name, false, early);
  auto& h = self->state.running[id];
  h.actor = msg.actor_id;
  h.waiter->answer_call = early_call_answer(self, id, slot, std::move(early), std::move(via),
                                            borrowed);
  core->submit(std::move(call));
}

} // namespace

void submit_hosted(node_manager_actor* self, const std::vector<char>& spec) {
  submit_hosted(self, spec, caf::actor_cast<caf::actor>(self->current_sender()), 0);
}

void submit_hosted(node_manager_actor* self, const std::vector<char>& spec, const caf::actor& owner,
                   uint64_t lane_key) {
  end_answered(self);
  detail::wire::task_message msg;
  if (auto err = detail::wire::decode(spec, msg); !err.empty()) {
    send_result(self, owner, failure_result(0, "?", error_kind::generic, err));
    return;
  }
  auto id = msg.task_id;
  watch_owner(self, owner, id, msg.job_id);
  auto refuse = [&](error_kind kind, std::string why) {
    send_result(self, owner, failure_result(id, msg.name, kind, std::move(why)));
  };
  // A second spec with the id of a task still running here would replace
  // the waiter the first one's result slot still points to.
  if (auto r = self->state.running.find(id); r != self->state.running.end()) {
    // Unless its owner sends it again: its connection was cut or hung, and
    // the owner, reconnected, placed the task here again. The run going on
    // answers the owner (through the proxy of the new connection, if the
    // old one closed here; else CAF routes it over the new connection)
    // instead of running twice. Another owner's spec with the id is refused.
    auto& h = r->second;
    if (h.actor == 0 && msg.actor_id == 0 && h.owner == owner) {
      h.owner = owner;
      // Its answer goes the way the spec came again: the lane it came on
      // first may be closed on the owner's side already (task_lane.hpp).
      if (h.early)
        h.early->lane.store(lane_key != 0 ? detail::task_lane::writer_of(lane_key) : nullptr);
      // Its thread may have answered on a lane the owner lost (after the
      // store above: an answer not yet written goes the new way).
      if (h.early && detail::task_lane::enabled())
        answer_again(self, *h.early);
      return;
    }
    return refuse(error_kind::generic, "a task with id " + to_string(object_id{id})
                                         + " is already running on " + detail::runtime::node_name()
                                         + " for another owner (was the spec sent twice?)");
  }
  if (msg.actor_id != 0)
    return submit_call(self, owner, msg);
  auto kind = error_kind::generic;
  std::string why;
  auto* fn = hosted_function(msg, kind, why);
  if (fn == nullptr)
    return refuse(kind, std::move(why));
  std::shared_ptr<early_answer_state> early;
  auto task = build_hosted_task({caf::actor_cast<caf::actor_addr>(self), self->state.token,
                                 self->state.hosted, self->state.logs},
                                owner, *fn, std::move(msg), lane_key, early);
  auto name = task->name();
  host(self, owner, id, task, task->result, std::move(name), true, std::move(early));
  schedule_hosted(self, owner, std::move(task));
}

const detail::function_info* hosted_function(const detail::wire::task_message& msg,
                                             error_kind& kind, std::string& why) {
  auto refuse = [&](error_kind k, std::string text) -> const detail::function_info* {
    kind = k;
    why = std::move(text);
    return nullptr;
  };
  // The pool's totals are the runtime's (fixed when it started): read
  // there, not copied out of the pool under its lock for every task.
  auto& rt = detail::runtime::here("a task from another node");
  auto total_cpus = rt.total_cpus();
  auto& total = rt.total_custom();
  if (!msg.demand.fits_in(total_cpus, total) && !detail::in_placement_group(msg.demand))
    return refuse(error_kind::infeasible_task,
                  "task demands " + msg.demand.to_string() + " but " + detail::runtime::node_name()
                    + " has only " + detail::resource_demand{total_cpus, total}.to_string()
                    + " in total; the sender's view of this node is stale or wrong");
  std::string missing; // the function, a job library (code_loader.hpp)
  auto* fn = detail::job_function(msg.code, msg.function_name, detail::runtime::node_name(),
                                  missing);
  if (fn == nullptr)
    return refuse(error_kind::unknown_function, std::move(missing));
  if (fn->signature != msg.signature)
    return refuse(error_kind::unknown_function, "function '" + msg.function_name + "' has type "
                                                  + detail::demangle(fn->signature.c_str()) + " on "
                                                  + detail::runtime::node_name()
                                                  + " but the owner called it as "
                                                  + detail::demangle(msg.signature.c_str()));
  // The refusal's text is built only for a layout that differs (as
  // call_layout_refusal tests), not for every task.
  if (fn->layout != nullptr && msg.layout_hash != 0 && msg.layout_hash != fn->layout().hash)
    if (auto text = detail::call_layout_refusal("function '" + msg.function_name + "'",
                                                detail::runtime::node_name(), fn->layout(),
                                                msg.layout_hash);
        !text.empty())
      return refuse(error_kind::unknown_function, std::move(text));
  if (fn->invoke == nullptr)
    return refuse(error_kind::generic, "function '" + msg.function_name
                                         + "' has parameter or result types that cannot "
                                           "be serialized, so it cannot run on another node");
  return fn;
}

std::shared_ptr<detail::remote_task> build_hosted_task(hosting_refs refs, const caf::actor& owner,
                                                       const detail::function_info& fn,
                                                       detail::wire::task_message&& msg,
                                                       uint64_t lane_key,
                                                       std::shared_ptr<early_answer_state>& early) {
  auto id = msg.task_id;
  auto item_window = msg.item_window;
  auto task = std::make_shared<detail::remote_task>(fn, std::move(msg));
  task->log_sink = refs.logs;
  // What goes through the node manager makes the result follow it there
  // (via_manager): a copy report, a generator's items.
  auto* via = &task->via_manager;
  task->report_copy = [manager = refs.manager, owner, via](uint64_t object, uint64_t size,
                                                           bool held) {
    via->store(true, std::memory_order_relaxed);
    if (auto hdl = caf::actor_cast<caf::actor>(manager))
      caf::anon_send(hdl, copy_atom::value, owner, object, size, held);
  };
  task->emit_item = item_emitter(refs.manager, owner, id, item_window);
  task->emit_item.send = [send = std::move(task->emit_item.send), via](uint64_t index,
                                                                       std::vector<char> bytes) {
    via->store(true, std::memory_order_relaxed);
    send(index, std::move(bytes));
  };
  early = std::make_shared<early_answer_state>();
  early->owner = owner;
  if (lane_key != 0)
    early->lane.store(detail::task_lane::writer_of(lane_key));
  task->answer_early = early_answer(std::move(refs.manager), refs.token, refs.hosted, id, early);
  task->result = std::make_shared<detail::object_slot>(
    &detail::runtime::here("a task from another node").store(), object_id{id}, task);
  detail::task_events::on_submit(task);
  return task;
}

void on_direct_task(node_manager_actor* self, const direct_task_ptr& d, bool queue) {
  auto& task = d->task;
  auto id = task->result->id().value();
  if (queue) {
    // The pool had no room when the data path tried: it queues here, as a
    // spec the node manager hosts does, unless it ended meanwhile (a cancel,
    // its owner's sweep) or is not the task hosted under its id.
    auto i = self->state.running.find(id);
    if (i != self->state.running.end() && i->second.keep == task && !task->result->done())
      schedule_hosted(self, d->owner, task);
    else if (!task->result->done())
      detail::seal_not_run(*task);
    return;
  }
  end_answered(self);
  watch_owner(self, d->owner, id, task->message().job_id);
  if (self->state.running.count(id) != 0) {
    // A spec with its id reached the node manager over CAF after the data
    // path took the id, before this: the task hosted first answers; this
    // one's answer is claimed here so that nobody sends it.
    d->early->end();
    detail::log_line(log_level::warning,
                     "manta: %s: task %s came twice at once, over CAF and on a task lane\n",
                     detail::runtime::node_name().c_str(), to_string(object_id{id}).c_str());
    return;
  }
  auto name = task->name();
  // Ended already (its thread may have answered): the waiter finds the
  // result sealed and ends it at once (host), without a second answer.
  host(self, d->owner, id, task, task->result, std::move(name), true, d->early, d.get());
}

} // namespace manta::actors
