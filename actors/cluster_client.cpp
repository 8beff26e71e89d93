#include "actors/cluster_client.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/cluster_client_internal.hpp"
#include "actors/lane_door.hpp"
#include "actors/generator_items.hpp"
#include "manta/store/borrowers.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/cluster/object_loss.hpp"
#include "manta/core/caf_config.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/sched/typed_task.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/net/wire_failure.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace manta::actors {

namespace {

using namespace detail;

} // namespace

bool fits_total(const remote_node& n, const resource_demand& d) {
  return d.fits_in(n.info.cpus, n.custom);
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

void settle_placed(self_ptr self, uint64_t id, const placed_task& p) {
  auto& st = self->state;
  if (auto* n = st.nodes.find(p.node)) {
    hold(*n, p.demand, -1);
    n->queued.erase(id);
  }
  // Its node reported the copies it kept before this result: any other
  // object it was to read is not there.
  for (auto& [object, alive] : p.reads)
    self->send(st.directory, copy_settle_atom::value, object, p.node);
}

namespace {

// -- results -------------------------------------------------------------------

std::optional<uint16_t> sender_node(self_ptr self);

/// A TaskResult from a worker; `beside`: the value it came with apart
/// (a result its task's thread sent: hosted_results.cpp, early_answer).
void on_result(self_ptr self, const bytes_t& bytes, const wire::shared_bytes* beside = nullptr) {
  auto& st = self->state;
  wire::result_message r;
  if (auto err = wire::decode(bytes, r); !err.empty())
    return; // nothing to attribute it to; the task's node is still watched
  if (beside != nullptr && r.kind == wire::result_message::inline_value && r.value.empty())
    r.value = beside->view();
  if (on_actor_call_result(self, r, beside))
    return;
  auto taken = st.tasks.take(r.task_id);
  if (!taken) {
    // Nobody waits for it (its task ended here first): never decoded, so
    // its node lets go of the refs inside it, if any.
    if (r.kind == wire::result_message::inline_value && !r.value.empty())
      if (auto from = sender_node(self))
        detail::tell_home(*from, r.task_id, detail::result_read_delta);
    return;
  }
  auto p = std::move(*taken);
  // Sent on a task lane: the client ends it only if the lane's reader did
  // not claim it first (task_lanes.hpp); one answer comes per dispatch,
  // so it always does, but the claim is what decides.
  if (p.by_lane && !st.lanes.claim(r.task_id)) {
    end_sealed(self, r.task_id, p);
    return;
  }
  settle_placed(self, r.task_id, p);
  if (p.task) {
    auto& t = *p.task;
    switch (r.kind) {
      case wire::result_message::inline_value:
        seal_inline_value(t, r.value, beside, p.node, r.task_id);
        break;
      case wire::result_message::stored:
        t.seal_remote(held_result(self, p, r.stored_size), r.stored_size);
        break;
      case wire::result_message::failure:
        if (p.dispatches > p.max_retries || t.cancelled()) {
          end_task(t, from_failure(r.error));
        } else if (r.error.kind == error_kind::object_lost) {
          // A referenced argument could not be read (its node died): look
          // at the arguments again; a lost one is rebuilt from its lineage.
          dispatch(self, p.task, &p);
        } else if (r.error.retryable) {
          // Its retry policy covers the failure and its budget lasts: the
          // same spec again, wherever there is room.
          task_events::on_run_end(t, from_failure(r.error), true);
          auto& again = st.tasks.record(r.task_id) = std::move(p);
          again.node = 0;
          place_or_wait(self, r.task_id);
        } else {
          end_task(t, from_failure(r.error));
        }
        break;
    }
    // A retry of a generator task whose lost items wait for it: those it
    // did not yield again are rebuilt by a re-run.
    if (st.rebuilds.any_lineage())
      generator_run_ended(self, r.task_id, false, true, "");
  } else if (!p.rebuild) {
    // A re-run of a generator task rebuilding its lost items (each was
    // taken as it came).
    generator_run_ended(self, r.task_id, true, false,
                        r.kind == wire::result_message::failure ? "failed (" + r.error.message + ")"
                                                                : "ended");
  } else if (auto fetch_id = st.fetches.of(r.task_id); fetch_id != 0) {
    // A rebuilt object: fetch it from its new home, or take it inline.
    switch (r.kind) {
      case wire::result_message::inline_value: {
        bytes_t data(r.value.begin(), r.value.end()); // the fetch keeps it
        complete_fetch(self, fetch_id, data);
        // Its reader decodes it later (the +1s for refs inside come here
        // first): its free tells that node too (see free_atom).
        st.rebuilds.rebuilt_inline(r.task_id, p.node, r.task_id);
        break;
      }
      case wire::result_message::stored: {
        p.rebuild->node = p.node;
        p.rebuild->encoded_size = r.stored_size;
        refetch(self, fetch_id);
        break;
      }
      case wire::result_message::failure:
        if (rebuild_again(r.error.retryable, p.rebuild->retries_left)) // object_loss.hpp
          rebuild(self, fetch_id); // counts against the object's retries
        else
          fail_fetch(self, fetch_id, "its rebuild failed: " + r.error.message);
        break;
    }
  }
  place_waiting(self);
  steal_for_idle(self);
}

/// Lines the driver's tasks printed on worker `node`: printed here and kept
/// for task_logs, like lines of local tasks. Lines of tasks not (or no
/// longer) placed there, and of rebuilds, are dropped.
void on_logs(self_ptr self, uint16_t node, const bytes_t& bytes) {
  wire::log_batch b;
  if (auto err = wire::decode(bytes, b); !err.empty())
    return; // the lines are lost, the tasks are not
  for (auto& line : b.lines) {
    auto* p = self->state.tasks.on(line.task_id, node);
    if (p == nullptr || !p->task)
      continue;
    log_capture::surface(object_id{line.task_id}, p->task->name(), b.node, line.to_stderr,
                         line.text);
  }
  if (b.dropped > 0)
    detail::log_line(log_level::warning,
                     "manta: %s dropped %llu lines printed by this driver's tasks (they came "
                     "faster than they could be sent)\n",
                     b.node.c_str(), static_cast<unsigned long long>(b.dropped));
}

/// The node that sent the message being handled, if it is a live worker.
std::optional<uint16_t> sender_node(self_ptr self) {
  return self->state.nodes.by_address(caf::actor_cast<caf::actor_addr>(self->current_sender()));
}

/// Whether a message from another process carries the cluster token; a
/// peer without it is disconnected and logged (actors/token_gate.hpp).
bool vetted(self_ptr self, const std::string& token, const char* what) {
  return self->state.tokens.admit(self, "manta: the driver", self->state.link->token(), token,
                                  what);
}

} // namespace

cluster_client_state::~cluster_client_state() {
  if (door)
    door->close();
  std::lock_guard<std::mutex> guard{gate->mtx};
  gate->open = false;
}

caf::behavior cluster_client(cluster_client_actor* self, detail::cluster* link) {
  auto& st = self->state;
  st.link = link;
  st.door = link->lane_door();
  if (st.door)
    st.door->adopt(st.lanes.claims());
  st.nodes.use(link->known_workers());
  st.silence_limit = detail::connection_timeout(self->system());
  st.ping_interval = std::min<std::chrono::milliseconds>(heartbeat_interval, st.silence_limit / 4);
  self->delayed_send<caf::message_priority::high>(self, st.ping_interval, heartbeat_atom::value);
  st.last_tick = std::chrono::steady_clock::now();
  start_bundles(self);
  st.directory = self->spawn<caf::linked>(object_directory_behavior, st.copies);
  // An error message from a peer (a node manager of another build answering
  // a message it does not know, or a broken one) would stop this actor by
  // CAF's default, and with it every creation, call and fetch of this
  // driver: logged and ignored.
  self->set_error_handler([=](caf::error& err) {
    if (++self->state.errors_ignored <= 10)
      detail::log_line(log_level::warning,
                       "manta: the driver ignored an error message from another node: %s\n",
                       self->system().render(err).c_str());
  });
  st.head.joined(link->head());
  self->monitor(st.head.registry());
  self->set_default_handler(drop_unexpected("manta: the driver"));
  self->set_down_handler([=](const caf::down_msg& msg) {
    if (self->state.head.is(msg.source)) {
      head_lost(self);
      return;
    }
    if (cut_off_done(self, msg.source))
      return;
    lane_door_sync(self);
    if (auto index = self->state.nodes.by_address(msg.source))
      connection_lost(self, *index, "closed");
  });
  return {
    [=](dispatch_atom, task_ptr& t) {
      lane_door_sync(self);
      dispatch(self, std::move(t));
    },
    [=](cancel_atom, uint64_t id, bool force, bool recursive) {
      lane_door_sync(self);
      forward_cancel(self, id, force, recursive);
    },
    [=](flush_atom) {
      self->state.specs.flush(self, self->state.link->token(), submit_atom::value,
                              submits_atom::value);
    },
    [=](results_atom, const std::string& token, const bytes_t& batch) {
      lane_door_sync(self);
      std::vector<bytes_t> items;
      if (vetted(self, token, "results") && sender_node(self)
          && wire::decode_batch(batch, items).empty())
        for (auto& bytes : items)
          on_result(self, bytes);
    },
    [=](result_atom, const std::string& token, const bytes_t& bytes) {
      // A node declared dead (it missed its heartbeats) may wake up and
      // answer; its tasks were given to others, so its word no longer counts.
      lane_door_sync(self);
      if (vetted(self, token, "result") && sender_node(self))
        on_result(self, bytes);
    },
    [=](result_atom, const std::string& token, const bytes_t& bytes,
        const wire::shared_bytes& value) {
      lane_door_sync(self);
      if (vetted(self, token, "result") && sender_node(self))
        on_result(self, bytes, &value);
    },
    [=](lane_result_atom, uint16_t node, uint64_t id, const bytes_t& bytes,
        const wire::shared_bytes& value) {
      // An answer read on `node`'s task lane (task_lanes.cpp): taken only
      // while the task is placed there (one its node's loss moved ends once).
      if (self->current_sender() != nullptr)
        return; // only this process's lane readers send it
      lane_door_sync(self);
      if (self->state.nodes.connected(node) != nullptr
          && self->state.tasks.on(id, node) != nullptr) {
        on_result(self, bytes, value.bytes ? &value : nullptr);
        return;
      }
      wire::result_message r; // nobody waits for it: its refs' pins go
      if (wire::decode(bytes, r).empty() && r.kind == wire::result_message::inline_value
          && (!r.value.empty() || value.bytes))
        detail::tell_home(node, r.task_id, detail::result_read_delta);
    },
    [=](lane_sealed_atom, uint16_t node, uint64_t id, int32_t dispatch) {
      // A lane's reader sealed task `id`'s value (task_lanes.cpp): its books.
      if (self->current_sender() != nullptr)
        return;
      lane_door_sync(self);
      lane_sealed(self, node, id, dispatch);
    },
    [=](lane_down_atom, uint16_t node, uint64_t key) { // in-process only: anon
      if (self->current_sender() != nullptr)
        return;
      lane_door_sync(self);
      key != 0 ? lane_down(self, node, key) : reopen_lane(self, node);
    },
    [=](submit_atom a, const std::string& token, const bytes_t& spec) {
      // A worker calls an actor through a handle this driver lent it
      // (lent_handles.hpp): the driver's node manager runs the call as a
      // hosted one and answers the worker.
      auto* rt = detail::runtime::current();
      if (rt != nullptr && sender_node(self) && vetted(self, token, "submit"))
        self->delegate(rt->node_manager(), a, token, spec);
    },
    [=](actor_create_atom, create_request_ptr& req) { create_remote_actor(self, std::move(req)); },
    [=](actor_call_atom, call_request_ptr& req) { send_actor_call(self, std::move(req)); },
    [=](actor_release_atom, uint16_t node, uint64_t id) { release_remote_actor(self, node, id); },
    [=](actor_release_atom, uint16_t home, uint64_t id, int32_t delta) {
      // This driver made or dropped a stand-in of a worker's actor
      // (lent_handles.hpp): the worker counts it.
      if (auto* n = self->state.nodes.connected(home))
        self->send(n->manager, actor_release_atom::value, self->state.link->token(), id, delta,
                   self->state.link->index());
    },
    [=](actor_release_atom, const std::string& token, uint64_t id, int32_t delta, uint16_t) {
      // A worker made or dropped a stand-in of an actor this driver lent.
      auto from = sender_node(self);
      if (!from || !vetted(self, token, "actor_release"))
        return;
      if (delta != detail::args_read_delta) {
        detail::lent_held(id, *from, delta);
        return;
      }
      // A worker's call this driver answered: echoed on the route of this
      // driver's +1s for the call's arguments, which were sent (here)
      // before the call ran, so the worker hears them first.
      if (auto* n = self->state.nodes.connected(*from))
        self->send(n->manager, actor_release_atom::value, self->state.link->token(), id, delta,
                   self->state.link->index());
    },
    [=](actor_find_atom, named_request_ptr& req) { on_named_request(self, std::move(req)); },
    [=](actor_created_atom, const std::string& token, const bytes_t& bytes) {
      if (auto from = sender_node(self); from && vetted(self, token, "actor_created"))
        on_actor_created(self, *from, bytes);
    },
    [=](actor_dead_atom, const std::string& token, uint64_t id, const std::string& cause) {
      if (auto from = sender_node(self); from && vetted(self, token, "actor_dead"))
        on_actor_dead(self, *from, id, cause);
    },
    [=](fetched_atom, uint64_t fetch_id, uint32_t attempt, const std::string& err, bytes_t& data) {
      on_fetched(self, fetch_id, attempt, err, data);
    },
    [=](item_atom, const std::string& token, uint64_t task, uint64_t index, const bytes_t& bytes,
        uint64_t held) {
      if (!sender_node(self) || !vetted(self, token, "genitem"))
        return;
      lane_door_sync(self); // a generator the door wrote: its task booked first
      on_inline_item(self, task, index, bytes, held,
                     caf::actor_cast<caf::actor>(self->current_sender()));
    },
    [=](item_ack_atom, const caf::actor& producer, uint64_t task, uint64_t taken) {
      forward_item_ack(self, producer, self->state.link->token(), task, taken);
    },
    [=](item_atom, const std::string& token, uint64_t task, uint64_t index, uint64_t object,
        uint64_t size) {
      // A large item its node keeps: read over the data path when read.
      auto from = sender_node(self);
      if (!from || !vetted(self, token, "genitem"))
        return;
      lane_door_sync(self); // its lineage is made from the task's books
      on_stored_item(self, task, index, *from, object, size,
                     caf::actor_cast<caf::actor>(self->current_sender()));
    },
    [=](ref_where_atom, const std::string& token, uint64_t id) -> caf::result<std::vector<char>> {
      // A worker borrowing an object of this driver could not read it
      // from the holder its ref named.
      if (!sender_node(self) || !vetted(self, token, "refwhere"))
        return caf::make_error(caf::sec::invalid_argument, "refwhere refused");
      auto rp = self->make_response_promise<std::vector<char>>();
      where_for_borrower(self, id, [rp](std::vector<char> w) mutable { rp.deliver(std::move(w)); });
      return rp;
    },
    [=](ref_sealed_atom, uint64_t id) {
      // A ref this driver lent while its object was pending: tell the
      // borrowers where it is now.
      if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
        return;
      for (auto& [node, bytes] : detail::ref_resolutions(id)) {
        if (auto* n = self->state.nodes.connected(node))
          self->send(n->manager, ref_ready_atom::value, self->state.link->token(),
                     std::move(bytes));
      }
    },
    [=](ref_ready_atom, const std::string& token, const bytes_t& bytes) {
      if (sender_node(self) && vetted(self, token, "refready"))
        detail::ref_resolved(bytes);
    },
    [=](logs_atom, const std::string& token, const bytes_t& bytes) {
      lane_door_sync(self);
      if (auto index = sender_node(self); index && vetted(self, token, "logs"))
        on_logs(self, *index, bytes);
    },
    [=](heartbeat_atom) {
      lane_door_sync(self);
      heartbeat(self);
    },
    [=](group_place_atom, placement_ptr& pg) { self->state.bundles->place(pg); },
    [=](group_remove_atom, placement_ptr& pg) { self->state.bundles->remove(pg); },
    [=](group_retry_atom) { self->state.bundles->retry(); },
    [=](tqueue_atom, const std::string& token, const bytes_t& bytes) {
      lane_door_sync(self);
      if (auto index = sender_node(self); index && vetted(self, token, "tqueue"))
        on_queue_news(self, *index, bytes);
    },
    [=](stolen_atom, const std::string& token, const bytes_t& bytes) {
      lane_door_sync(self);
      if (auto index = sender_node(self); index && vetted(self, token, "stolen"))
        on_stolen(self, *index, bytes);
    },
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
      if (!vetted(self, token, "node_del"))
        return;
      lane_door_sync(self);
      // Not waited for any more, if it was being reconnected.
      bool was_reconnecting = self->state.nodes.stop_reconnecting(index);
      cut_off(self, index); // if it lives and is still connected here
      node_lost(
        self, index,
        "left the cluster (the head no longer lists it: it stopped, died or lost its link)");
      if (was_reconnecting)
        reconnect_ended(self);
    },
    [=](reconnect_atom, uint16_t index) { reconnect(self, index); },
    [=](rejoin_atom) { rejoin_head(self); },
    [=](fetch_atom, remote_ptr& obj, std::shared_ptr<fetch_promise>& promise) {
      fetch(self, obj, [promise](const std::string& err, bytes_t& data) {
        promise->set_value({err, std::move(data)});
      });
    },
    [=](free_atom, uint16_t node, uint64_t id) {
      // The owner's last reference is gone: the object and its copies.
      auto held = self->state.rebuilds.forget(id);
      free_on(self, node, held);
      for (auto copy : self->state.copies->erase(held))
        free_on(self, copy, held);
      for (auto [rebuilt_on, held_there] : self->state.rebuilds.take_rebuilt_inline(id))
        free_on(self, rebuilt_on, held_there); // no bytes: the refs' pins go
    },
    [=](copy_atom, const std::string& token, const bytes_t& bytes) {
      if (auto index = sender_node(self); index && vetted(self, token, "copy"))
        on_copy(self, *index, bytes);
    },
    [=](state_atom a, const std::string& token, const bytes_t& query) -> caf::result<bytes_t> {
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
      if (self->state.nodes.all_connected())
        return true;
      self->state.nodes.wait_ready(self->make_response_promise());
      return caf::delegated<bool>{};
    },
  };
}

} // namespace manta::actors
