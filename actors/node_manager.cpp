#include "actors/node_manager.hpp"
#include "actors/lane_direct.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/cluster/owner_where.hpp"
#include "manta/dashboard/dashboard_detail.hpp"
#include "actors/generator_items.hpp"
#include "actors/hosted_queue.hpp"
#include "actors/hosted_results.hpp"
#include "manta/store/borrowers.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/object_store.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/observe/log_shipper.hpp"
#include "manta/cluster/node_state.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/task_error.hpp"
#include "manta/net/wire.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cstdio>

namespace manta::actors {

namespace {

using detail::error_kind;
using detail::wire::result_message;

/// Whether a message from another process carries this cluster's token;
/// a peer without it is disconnected and logged (actors/token_gate.hpp).
bool vetted(node_manager_actor* self, const std::string& token, const char* what) {
  return self->state.tokens.admit(self, "manta: " + detail::runtime::node_name(), self->state.token,
                                  token, what);
}

} // namespace

caf::behavior node_manager(node_manager_actor* self, detail::worker_pool* pool, std::string token) {
  self->state.pool = pool;
  self->state.token = std::move(token);
  self->set_down_handler([=](const caf::down_msg& msg) {
    // An owner is gone: so are the actors it placed here (but detached
    // ones), and the rest it left after a grace (owner_sweep.cpp).
    owner_closed(self, msg.source);
    forwarded_home_lost(self, msg.source);
  });
  self->state.logs = make_shipper(self);
  self->state.starts = make_start_log(self);
  serve_task_lanes(self);
  caf::behavior serving{
    [=](resources_atom) {
      auto [free, total] = self->state.pool->resources();
      return caf::make_message(std::move(free), std::move(total));
    },
    [=](flush_atom) {
      ship_logs(self); // lines go before the results of their tasks
      self->state.results.flush(self, self->state.token, result_atom::value, results_atom::value);
    },
    [=](qreport_atom, bool due) { due ? report_queue(self) : plan_queue_report(self); },
    [=](submits_atom, const std::string& token, const std::vector<char>& batch) {
      if (!vetted(self, token, "submits"))
        return;
      std::vector<std::vector<char>> specs;
      if (auto err = detail::wire::decode_batch(batch, specs); !err.empty()) {
        auto owner = caf::actor_cast<caf::actor>(self->current_sender());
        send_result(self, owner, failure_result(0, "?", error_kind::generic, err));
        return;
      }
      for (auto& spec : specs)
        submit_hosted(self, spec);
    },
    [=](submit_atom, const std::string& token, const std::vector<char>& spec) {
      if (vetted(self, token, "submit"))
        submit_hosted(self, spec);
    },
    [=](actor_call_atom, detail::call_request_ptr& req) {
      // A call through a handle another node lent (from this process only).
      if (self->current_sender() == nullptr || self->current_sender()->node() == self->node())
        forward_call(self, std::move(req));
    },
    [=](actor_release_atom, uint16_t home, uint64_t id, int32_t delta) {
      // This process made or dropped a stand-in of actor `id` of its owner
      // `home` (lent_handles.hpp): the home counts it.
      if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
        return;
      if (auto owner = self->state.owners.owner_on(home))
        self->send(caf::actor_cast<caf::actor>(*owner), actor_release_atom::value,
                   self->state.token, id, delta, detail::runtime::current()->node_index());
    },
    [=](actor_release_atom, const std::string& token, uint64_t id, int32_t delta, uint16_t from) {
      if (!vetted(self, token, "actor_release"))
        return;
      if (delta == detail::args_read_delta)
        forwarded_args_read(self, id);
      else
        detail::lent_held(id, from, delta);
    },
    [=](results_atom, const std::string& token, const std::vector<char>& batch) {
      std::vector<std::vector<char>> items;
      if (vetted(self, token, "results") && detail::wire::decode_batch(batch, items).empty())
        forwarded_results(self, items);
    },
    [=](result_atom, const std::string& token, const std::vector<char>& bytes) {
      if (vetted(self, token, "result"))
        forwarded_results(self, {bytes});
    },
    [=](result_atom, const std::string& token, const std::vector<char>& bytes,
        const detail::wire::shared_bytes& value) {
      // A result whose value came beside it (early_answer): one message
      // again, as forwarded results are read.
      detail::wire::result_message r;
      if (vetted(self, token, "result") && detail::wire::decode(bytes, r).empty()) {
        r.value = value.view();
        forwarded_results(self, {detail::wire::encode(r)});
      }
    },
    [=](steal_atom, const std::string& token, const std::vector<char>& request) {
      if (vetted(self, token, "steal"))
        give_back(self, request);
    },
    [=](bundle_prepare_atom, const std::string& token,
        const std::vector<char>& request) -> caf::result<bool, std::string> {
      if (!vetted(self, token, "bprepare"))
        return caf::make_error(caf::sec::invalid_argument, "wrong cluster token");
      auto why = prepare_bundles(self, request);
      return {why.empty(), why};
    },
    [=](bundle_commit_atom, const std::string& token, uint64_t group) {
      if (vetted(self, token, "bcommit"))
        detail::runtime::here().hosted().commit(group);
    },
    [=](bundle_release_atom, const std::string& token, uint64_t group) {
      if (vetted(self, token, "brelease"))
        detail::runtime::here().hosted().release(group);
    },
    [=](ping_atom, const std::string& token) {
      if (!vetted(self, token, "ping"))
        return;
      watch_owner(self, caf::actor_cast<caf::actor>(self->current_sender()), 0);
      // Urgent, as the ping (worker_links.cpp, heartbeat): queued tasks do
      // not delay it.
      self->send<caf::message_priority::high>(caf::actor_cast<caf::actor>(self->current_sender()),
                                              pong_atom::value, self->state.token);
    },
    [=](ping_atom, const std::string& token, uint64_t) -> bool {
      // A driver whose task lane ended asks whether this node outlived it
      // (task_lanes.cpp, `lane_down`): answered after the question came.
      return vetted(self, token, "ping");
    },
    [=](done_atom, uint64_t id) { end_hosted(self, id); },
    [=](done_atom) {
      {
        std::lock_guard<std::mutex> guard{self->state.answered->mtx};
        self->state.answered->planned = false;
      }
      end_answered(self);
    },
    [=](fetch_atom, const std::string& token, uint64_t fetch_id, uint64_t id, uint64_t offset,
        uint64_t length) {
      if (!vetted(self, token, "fetch"))
        return;
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      auto held = detail::runtime::here().store().held().find(id);
      if (!held) {
        self->send(sender, missing_atom::value, self->state.token, fetch_id,
                   "object " + to_string(object_id{id}) + " is not on "
                     + detail::runtime::node_name());
        return;
      }
      auto& bytes = *held;
      auto from = std::min<uint64_t>(offset, bytes.size());
      auto n = std::min<uint64_t>({length, bytes.size() - from, max_chunk_bytes});
      self->send(sender, chunk_atom::value, self->state.token, fetch_id,
                 detail::wire::encode_chunk(from, {bytes.data() + from, n}));
    },
    [=](copy_atom, const caf::actor& owner, uint64_t id, uint64_t size, bool held) {
      // From a task reading an argument here (never from another process).
      if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
        return;
      detail::wire::copy_message m{id, size, held};
      self->send(owner, copy_atom::value, self->state.token, detail::wire::encode(m));
    },
    [=](item_atom, const caf::actor& owner, uint64_t task, uint64_t index, std::vector<char>& bytes,
        uint64_t held) {
      // From a generator running here (never from another process); sent
      // on at once, so it reaches the owner before the task's result.
      // `held`: the container of its refs here (item_emitter).
      if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
        return;
      self->send(owner, item_atom::value, self->state.token, task, index, std::move(bytes), held);
    },
    [=](item_atom, const caf::actor& owner, uint64_t task, uint64_t index, uint64_t object,
        uint64_t size) {
      // A large item a generator running here keeps here (item_emitter):
      // held for its owner like a large result, which reads or frees it.
      if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
        return;
      self->state.owners.held(owner.address(), object);
      self->send(owner, item_atom::value, self->state.token, task, index, object, size);
    },
    [=](item_atom, const caf::actor& owner, uint64_t task, uint64_t index, uint64_t object,
        uint64_t size, std::string& host, uint16_t port) {
      // A large item a generator method of this driver's actor yields for
      // a worker that called it through a lent handle (item_emitter): kept
      // here, read from this node's data path, freed when the worker lets
      // go (item_stream::lent_item_gone).
      if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
        return;
      self->send(owner, item_atom::value, self->state.token, task, index, object, size,
                 std::move(host), port);
    },
    [=](item_atom, const std::string& token, uint64_t task, uint64_t index, uint64_t object,
        uint64_t size, std::string& host, uint16_t port) {
      // Such an item, on the worker that called the method (its lender is
      // the node whose ids carry its index).
      if (vetted(self, token, "genitem"))
        detail::item_stream::deliver_lent(task, index, object_id{object}.node(), object, size,
                                          std::move(host), port,
                                          caf::actor_cast<caf::actor>(self->current_sender()));
    },
    [=](item_atom, const std::string& token, uint64_t task, uint64_t index,
        const std::vector<char>& bytes, uint64_t held) {
      // An item of a generator method this worker called through a handle
      // its owner lent (forwarded_calls.cpp), from that actor's home.
      if (vetted(self, token, "genitem"))
        deliver_item(self, task, index, bytes, held);
    },
    [=](item_ack_atom, const caf::actor& producer, uint64_t task, uint64_t taken) {
      forward_item_ack(self, producer, self->state.token, task, taken);
    },
    [=](item_ack_atom, const std::string& token, uint64_t task, uint64_t taken) {
      if (vetted(self, token, "genack"))
        detail::item_stream::acknowledge(task, taken);
    },
    [=](ref_sealed_atom, uint64_t id) {
      // A ref this node lent while its object was pending: tell the
      // borrowers (drivers, over their links) where it is now.
      if (self->current_sender() != nullptr && self->current_sender()->node() != self->node())
        return;
      for (auto& [node, bytes] : detail::ref_resolutions(id))
        if (auto owner = self->state.owners.owner_on(node))
          self->send(caf::actor_cast<caf::actor>(*owner), ref_ready_atom::value, self->state.token,
                     std::move(bytes));
    },
    [=](ref_where_atom a, uint16_t owner_node, uint64_t id) -> caf::result<std::vector<char>> {
      // A thread of this process asks the owner of an object it borrowed
      // where its bytes are now (owner_where.hpp); the owner answers this
      // node manager (it knows its senders by their address), which
      // passes the answer on.
      if (self->current_sender() == nullptr || self->current_sender()->node() != self->node())
        return caf::make_error(caf::sec::invalid_argument, "refwhere from another process");
      auto owner = self->state.owners.owner_on(owner_node);
      if (!owner)
        return caf::make_error(caf::sec::invalid_argument, "no connection to it from this node");
      auto rp = self->make_response_promise<std::vector<char>>();
      self
        ->request(caf::actor_cast<caf::actor>(*owner), detail::owner_where_limit, a,
                  self->state.token, id)
        .then([rp](std::vector<char>& w) mutable { rp.deliver(std::move(w)); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](ref_ready_atom, const std::string& token, const std::vector<char>& bytes) {
      if (vetted(self, token, "refready"))
        detail::ref_resolved(bytes);
    },
    [=](free_atom, const std::string& token, uint64_t id) {
      if (!vetted(self, token, "free"))
        return;
      detail::runtime::here().store().held().erase(id);
      detail::result_read(id); // the refs inside a result never read
      self->state.owners.freed(caf::actor_cast<caf::actor_addr>(self->current_sender()), id);
    },
    [=](sweep_atom, const caf::actor_addr& owner, uint64_t ticket) {
      if (self->current_sender() == self->ctrl())
        sweep_owner(self, owner, ticket);
    },
    [=](actor_create_atom, const std::string& token, const std::vector<char>& spec) {
      if (vetted(self, token, "actor_create"))
        create_hosted_actor(self, spec);
    },
    [=](cancel_atom, const std::string& token, uint64_t id, bool force, bool recursive) {
      if (vetted(self, token, "cancel"))
        cancel_hosted(self, id, force, recursive);
    },
    [=](lane_hello_atom, const std::string& token, uint64_t key) {
      // An owner's task lane (task_lane.hpp) is about to open: its frames
      // are the owner's.
      if (!vetted(self, token, "lane_hello") || key == 0)
        return false;
      add_lane_owner(self, key, caf::actor_cast<caf::actor>(self->current_sender()));
      return true;
    },
    [=](lane_atom, uint64_t key, uint32_t kind, uint64_t id, uint64_t extra,
        std::vector<char>& payload) {
      // Only this process's data path threads send it.
      if (self->current_sender() == nullptr)
        on_lane_frame(self, key, kind, id, extra, payload);
    },
    [=](lane_direct_atom, const direct_task_ptr& d, bool queue) {
      if (self->current_sender() != nullptr)
        return;
      on_direct_task(self, d, queue);
      if (queue) // handled: later specs may go to the pool directly again
        self->state.direct->to_manager.fetch_sub(1, std::memory_order_acq_rel);
    },
    [=](actor_kill_atom, const std::string& token, uint64_t id) {
      if (vetted(self, token, "actor_kill"))
        drop_actor(self, id);
    },
    [=](state_atom, const std::string& token,
        const std::vector<char>& query) -> caf::result<std::vector<char>> {
      // The head's dashboard: this node's tasks, actors and objects. Read
      // here, on a scheduler thread: a few ms for a full task history.
      if (!vetted(self, token, "state"))
        return caf::make_error(caf::sec::invalid_argument, "wrong cluster token");
      detail::state_query q;
      if (auto err = detail::wire::decode(query, q); !err.empty())
        return caf::make_error(caf::sec::invalid_argument, err);
      try {
        auto s = detail::take_node_state(q);
        if (!q.forward.empty())
          forward_state_request(q.forward, s);
        return detail::wire::encode(s);
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
  };
  // Until runtime::start published the runtime (serve_atom), messages wait
  // in the mailbox: a worker joins the cluster inside the runtime's
  // constructor, and a task or actor that another node sent at once would
  // otherwise run while manta::current_node() and the like still throw
  // not_initialized_error (and remote_task::run reads a null runtime).
  self->set_default_handler(caf::skip);
  return {
    [=](serve_atom) mutable {
      self->set_default_handler(drop_unexpected("manta: " + detail::runtime::node_name()));
      self->become(std::move(serving));
    },
  };
}

} // namespace manta::actors
