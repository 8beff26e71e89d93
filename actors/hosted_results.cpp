#include "actors/hosted_results.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/store/accounted_value.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/core/demangle.hpp"
#include "manta/store/object_store.hpp"
#include "manta/cluster/remote_task.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/stream_items.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/net/wire_failure.hpp"

#include <caf/all.hpp>

#include <atomic>

namespace manta::actors {

using detail::wire::result_message;

namespace {

/// From this size on, a result's value travels beside its message when it
/// is a byte vector (a copy of it costs more than the extra element, a
/// custom type CAF names by its type name on the wire: one of 4 bytes
/// beside its message made a round trip about a tenth slower); smaller
/// ones go inside it.
constexpr size_t beside_from = size_t{64} << 10;

/// The encoded bytes of a sealed result, not copied: a hosted task's are
/// bytes already; an actor call's value is encoded with its type's codec,
/// which for a raw type (a vector of numbers, a string) points into the
/// value itself. They live as long as this does.
struct result_bytes {
  std::shared_ptr<const void> value; // the sealed value (bytes, or the call's value)
  detail::encoded_bytes encoded;     // into `value`, or into its own storage
  std::span<const char> view() const { return {encoded.data, encoded.size}; }
};

/// The encoding of sealed `result`: the bytes themselves if `encoded` (a
/// hosted task's), else its value written by its type's codec.
result_bytes encoded_result(const detail::object_slot& result, bool encoded) {
  result_bytes out;
  out.value = result.shared_value();
  if (encoded) {
    auto& bytes = *static_cast<const std::vector<char>*>(out.value.get());
    out.encoded.data = bytes.data();
    out.encoded.size = bytes.size();
    return out;
  }
  if (result.type() == typeid(void))
    return out;
  auto* codec = result.codec();
  if (codec == nullptr)
    throw std::runtime_error("the result type " + detail::demangle(result.type().name())
                             + " cannot be serialized");
  if (auto err = codec->encode(out.value.get(), out.encoded))
    throw std::runtime_error("the result does not encode: " + detail::error_text(err));
  return out;
}

/// The TaskResult of `id` whose value, `bytes`, goes inline. A byte vector
/// (`byte_vector`: the sealed value is the bytes themselves) of
/// `beside_from` or more goes in `beside`, kept alive by the value, not
/// copied; any other is copied once, from the sealed value (or its codec's
/// encoding) straight into the message.
detail::wire::bytes inline_result(uint64_t id, const result_bytes& bytes, bool byte_vector,
                                  result_message& r, detail::wire::shared_bytes& beside) {
  r.task_id = id;
  r.node = detail::runtime::node_name();
  r.kind = result_message::inline_value;
  if (byte_vector && bytes.encoded.size >= beside_from) {
    beside.bytes = std::shared_ptr<const std::vector<char>>(
      bytes.value, static_cast<const std::vector<char>*>(bytes.value.get()));
    return detail::wire::encode(r);
  }
  r.value = bytes.view();
  auto message = detail::wire::encode(r); // the value's one copy, into the message
  r.value = {};                           // `bytes` may go now
  return message;
}

/// `b`'s bytes as held_objects keeps them (a result too large to go inline).
std::shared_ptr<const std::vector<char>> held_bytes(result_bytes&& b, bool encoded) {
  if (encoded) // a hosted task's bytes, already in the budget as a result
    return std::static_pointer_cast<const std::vector<char>>(std::move(b.value));
  auto size = b.encoded.size;
  auto bytes = b.encoded.storage.empty()
                 ? std::make_shared<const std::vector<char>>(b.encoded.data, b.encoded.data + size)
                 : std::make_shared<const std::vector<char>>(std::move(b.encoded.storage));
  // Counted in the budget while they live, as held_objects::put wants.
  return detail::accounted(detail::runtime::here("a task result").store(), std::move(bytes), size);
}

/// A TaskResult of task `id` that failed with `f`, sent from this node.
result_message failed(uint64_t id, detail::wire::failure_message f) {
  result_message r;
  r.task_id = id;
  r.node = detail::runtime::node_name(); // f.node: where it failed (a nested task's node)
  r.kind = result_message::failure;
  r.error = std::move(f);
  return r;
}

} // namespace

result_message failure_result(uint64_t id, const std::string& task, detail::error_kind kind,
                              std::string message) {
  detail::wire::failure_message f;
  f.kind = kind;
  f.message = std::move(message);
  f.task_name = task;
  f.node = detail::runtime::node_name();
  return failed(id, std::move(f));
}

result_message failure_of(uint64_t id, const std::string& name, const std::exception_ptr& ep) {
  return failed(id, detail::to_failure(ep, name, detail::runtime::node_name()));
}

detail::wire::bytes finished_result(uint64_t id, const hosted_task& h, result_message& r,
                                    detail::wire::shared_bytes& beside) {
  auto fail = [&](const std::exception_ptr& ep) {
    r = failure_of(id, h.name, ep);
    return detail::wire::bytes{};
  };
  if (h.result->failed())
    return fail(h.result->error());
  result_bytes bytes;
  try {
    // The refs an actor call's result holds are pinned by the result until
    // its owner (the node its id names) read or freed it (a task's were
    // collected as it ran: remote_task::run).
    detail::lend_scope lending;
    bytes = encoded_result(*h.result, h.encoded);
    detail::contain_result(id, object_id{id}.node(), lending.take());
  } catch (...) {
    return fail(std::current_exception());
  }
  auto size = bytes.encoded.size;
  if (!detail::result_stays_on_node(size))
    return inline_result(id, bytes, h.encoded || h.result->type() == typeid(std::vector<char>), r,
                         beside);
  r.task_id = id;
  r.node = detail::runtime::node_name();
  r.kind = result_message::stored;
  r.stored_size = size;
  detail::runtime::here("a task result")
    .store()
    .held()
    .put(id, held_bytes(std::move(bytes), h.encoded));
  return {};
}

namespace {

std::atomic<uint64_t> early_answers_sent{0};

/// Sends the answer a thread other than the node manager's gives (the one
/// that ran the task or call), as from the node manager `hdl`.
void send_answer(const caf::actor& hdl, const caf::actor& owner, const std::string& token,
                 detail::wire::bytes message, detail::wire::shared_bytes beside) {
  early_answers_sent.fetch_add(1, std::memory_order_relaxed);
  if (beside.bytes)
    caf::send_as(hdl, owner, result_atom::value, token, std::move(message), std::move(beside));
  else
    caf::send_as(hdl, owner, result_atom::value, token, std::move(message));
}

/// Writes task `id`'s answer on the lane it came on (`state.lane`), if that
/// is open, and keeps it (`answer_again`); false if it did not (the caller
/// answers over CAF, with `message` and `beside` as they were).
bool on_lane(early_answer_state& state, uint64_t id, detail::wire::bytes& message,
             detail::wire::shared_bytes& beside) {
  std::lock_guard<std::mutex> guard{state.lane_mtx};
  auto lane = state.lane.load();
  if (!lane || !lane->send_result(id, message, beside.view()))
    return false;
  state.lane_message = std::move(message);
  state.lane_beside = std::move(beside);
  state.on_lane = true;
  return true;
}

} // namespace

void answer_again(node_manager_actor* self, early_answer_state& state) {
  std::lock_guard<std::mutex> guard{state.lane_mtx};
  if (!std::exchange(state.on_lane, false))
    return; // not answered, or answered over CAF: that answer stands
  send_answer(caf::actor{self}, state.owner, self->state.token, std::move(state.lane_message),
              std::move(state.lane_beside));
}

std::function<std::function<void()>(const std::shared_ptr<const std::vector<char>>&)>
early_answer(caf::actor_addr manager, const std::string& token,
             std::shared_ptr<std::atomic<size_t>> hosted, uint64_t id,
             std::shared_ptr<early_answer_state> state) {
  return [manager = std::move(manager), token, hosted = std::move(hosted), state = std::move(state),
          id](const std::shared_ptr<const std::vector<char>>& bytes) -> std::function<void()> {
    if (detail::result_stays_on_node(bytes->size()) || hosted->load(std::memory_order_relaxed) != 1)
      return {};
    auto hdl = caf::actor_cast<caf::actor>(manager);
    if (!hdl)
      return {};
    result_bytes value;
    value.value = bytes;
    value.encoded.data = bytes->data();
    value.encoded.size = bytes->size();
    result_message r;
    detail::wire::shared_bytes beside;
    auto message = inline_result(id, value, true, r, beside);
    if (!state->answer()) // the node manager ended it (a cancel, a sweep)
      return {};
    // Off the count now (hosted_counter): the owner, answered, may send
    // the next task before the node manager ends this one.
    hosted->fetch_sub(1, std::memory_order_relaxed);
    return [hdl = std::move(hdl), owner = state->owner, token, message = std::move(message),
            beside = std::move(beside),
            // Lane off: nothing of the lane's is touched.
            lane = detail::task_lane::enabled() ? state : nullptr, id]() mutable {
      // On the task lane it came on, while that is open (task_lane.hpp).
      if (lane && on_lane(*lane, id, message, beside)) {
        early_answers_sent.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      send_answer(hdl, owner, token, std::move(message), std::move(beside));
    };
  };
}

std::function<void()> early_call_answer(node_manager_actor* self, uint64_t id,
                                        const detail::slot_ptr& result,
                                        std::shared_ptr<early_answer_state> state,
                                        std::shared_ptr<std::atomic<bool>> via_manager,
                                        uint64_t borrowed) {
  return [manager = caf::actor_cast<caf::actor_addr>(self), token = self->state.token,
          hosted = self->state.hosted, state = std::move(state), via = std::move(via_manager),
          slot = std::weak_ptr<detail::object_slot>{result}, borrowed, id] {
    auto result = slot.lock();
    // A ref read since the call's arguments were decoded (one of theirs,
    // or one the method read) sent a +1 through the node manager, and an
    // item a generator method yielded went that way too: the result
    // follows them there. So does a failure (the node manager reports an
    // actor's death with it), and a value kept here (too large to go
    // inline: the node manager tracks it for its owner).
    if (!result || !result->done() || result->failed() || via->load(std::memory_order_acquire)
        || detail::refs_borrowed_in_process() != borrowed
        || hosted->load(std::memory_order_relaxed) != 1
        || detail::result_stays_on_node(result->size_bytes()))
      return;
    auto hdl = caf::actor_cast<caf::actor>(manager);
    if (!hdl)
      return;
    result_message r;
    detail::wire::shared_bytes beside;
    detail::wire::bytes message;
    // The refs the value holds are pinned by it as a call's result is
    // (finished_result); unless this thread answers, the scope lets them
    // go and the node manager lends them again.
    detail::lend_scope lending;
    try {
      auto bytes = encoded_result(*result, false);
      if (detail::result_stays_on_node(bytes.encoded.size))
        return; // larger encoded than in memory: the node manager keeps it here
      message = inline_result(id, bytes, result->type() == typeid(std::vector<char>), r, beside);
    } catch (...) {
      return; // the node manager answers, with the failure
    }
    if (!state->answer()) // the node manager ended it (a cancel, a sweep)
      return;
    detail::contain_result(id, object_id{id}.node(), lending.take());
    hosted->fetch_sub(1, std::memory_order_relaxed); // as a task's: early_answer
    send_answer(hdl, state->owner, token, std::move(message), std::move(beside));
  };
}

uint64_t early_answers() noexcept {
  return early_answers_sent.load(std::memory_order_relaxed);
}

detail::item_stream::emitter item_emitter(node_manager_actor* self, const caf::actor& owner,
                                          uint64_t id, uint64_t window) {
  return item_emitter(caf::actor_cast<caf::actor_addr>(self), owner, id, window);
}

detail::item_stream::emitter item_emitter(caf::actor_addr manager, const caf::actor& owner,
                                          uint64_t id, uint64_t window) {
  auto* rt = detail::runtime::current();
  auto* link = rt == nullptr ? nullptr : rt->cluster_link();
  bool store_large = link != nullptr && link->kind() == detail::cluster::role::worker;
  // A driver's node manager runs generator methods for workers that call
  // them through a lent handle: its large items stay here too, and the
  // worker reads them from this node's data path (named in the message: a
  // worker knows no driver's data path otherwise).
  bool lend_large = link != nullptr && !store_large && link->data_port() != 0;
  std::string host = lend_large ? link->data_host() : std::string{};
  uint16_t port = lend_large ? link->data_port() : uint16_t{0};
  detail::item_stream::emitter out;
  out.task_id = id;
  out.window = window;
  out.send = [manager = std::move(manager), owner, id, store_large, lend_large, host,
              port](uint64_t index, std::vector<char> bytes) {
    auto hdl = caf::actor_cast<caf::actor>(manager);
    if (!hdl)
      return;
    // The refs and handles lent in the item are pinned by it, like a
    // result's, until its owner (the node the task id names) decoded it,
    // dropped it, or is gone (contained_refs.hpp).
    auto& rt = detail::runtime::require("a generator's item");
    auto reader = object_id{id}.node();
    if ((!store_large && !lend_large) || bytes.size() <= inline_result_limit) {
      // Under an id of this node that travels with the item (0: no refs).
      uint64_t held = 0;
      if (auto lent = detail::take_item_lending(); !lent.empty()) {
        held = rt.next_object_id().value();
        detail::contain_result(held, reader, std::move(lent));
      }
      caf::anon_send(hdl, item_atom::value, owner, id, index, std::move(bytes), held);
      return;
    }
    auto size = bytes.size();
    auto object = rt.next_object_id().value();
    // Throws object_store_full_error at the yield, as a put would.
    auto& store = rt.store();
    store.budget().admit(size, "generator item");
    store.held().put(
      object,
      detail::accounted(store, std::make_shared<const std::vector<char>>(std::move(bytes)), size));
    // Under the item's own id: let go when its owner frees it (read or not).
    detail::contain_result(object, reader, detail::take_item_lending());
    if (store_large) {
      caf::anon_send(hdl, item_atom::value, owner, id, index, object, uint64_t{size});
      return;
    }
    // Freed when the worker lets go, or dies (lent_items_node_gone).
    detail::lend_item_to(object, owner.node());
    caf::anon_send(hdl, item_atom::value, owner, id, index, object, uint64_t{size}, host, port);
  };
  return out;
}

// -- the end of a hosted task: its answer, unless its thread gave it ----------

void queue_result(node_manager_actor* self, const caf::actor& owner, detail::wire::bytes message) {
  if (self->state.results.push(owner, std::move(message)))
    self->send(self, flush_atom::value);
}

void send_result(node_manager_actor* self, const caf::actor& owner, const result_message& r) {
  queue_result(self, owner, detail::wire::encode(r));
}

namespace {

/// After a call failed with actor_died_error: tells the owner if its actor
/// is dead for good (not merely restarting) and lets go of it.
void report_if_dead(node_manager_actor* self, const hosted_task& h) {
  auto a = self->state.actors.find(h.actor);
  if (a == self->state.actors.end())
    return;
  auto info = a->second.anchor->core->info();
  if (info.state != "DEAD")
    return;
  self->send(a->second.owner, actor_dead_atom::value, self->state.token, h.actor, info.death_cause);
  self->state.actors.erase(a);
}

} // namespace

void end_hosted(node_manager_actor* self, uint64_t id) {
  auto i = self->state.running.find(id);
  if (i == self->state.running.end())
    return;
  ship_logs(self); // the task's lines go before its result
  auto h = std::move(i->second);
  self->state.running.erase(i);
  // Answered by the thread that ran it (early_answer), through the
  // owner's handle of now.
  if (h.early && !h.early->end()
      && caf::actor_cast<caf::abstract_actor*>(h.early->owner)
           == caf::actor_cast<caf::abstract_actor*>(h.owner))
    return;
  result_message r;
  detail::wire::shared_bytes beside;
  auto message = finished_result(id, h, r, beside);
  if (r.kind == result_message::failure && h.encoded) // a remote_task's (see hosted_task)
    r.error.retryable = static_cast<const detail::remote_task*>(h.keep.get())
                          ->retryable.load(std::memory_order_acquire);
  else if (r.kind == result_message::failure && h.actor != 0) // an actor_call's
    r.error.retryable = static_cast<const detail::actor_call*>(h.keep.get())->retryable;
  if (r.kind == result_message::stored)
    self->state.owners.held(h.owner.address(), id);
  if (r.kind == result_message::inline_value && beside.bytes)
    self->send(h.owner, result_atom::value, self->state.token, std::move(message),
               std::move(beside));
  else if (r.kind == result_message::inline_value)
    queue_result(self, h.owner, std::move(message));
  else
    send_result(self, h.owner, r);
  if (r.kind == result_message::failure && r.error.kind == detail::error_kind::actor_died)
    report_if_dead(self, h);
}

/// Ends the tasks their threads answered (`answered_tasks`).
void end_answered(node_manager_actor* self) {
  std::vector<uint64_t> ids;
  {
    auto& a = *self->state.answered;
    std::lock_guard<std::mutex> guard{a.mtx};
    ids.swap(a.ids);
  }
  for (auto id : ids)
    end_hosted(self, id);
}

void remote_done_waiter::on_ready() noexcept {
  // A call's thread answers here, after the seal (a task's before it).
  if (answer_call)
    answer_call();
  if (!early || !early->was_answered()) {
    caf::anon_send(manager, done_atom::value, id);
    return;
  }
  // Answered: the node manager ends it with the next task it handles, or
  // after a while, without a wake-up now.
  bool plan = false;
  {
    std::lock_guard<std::mutex> guard{answered->mtx};
    answered->ids.push_back(id);
    plan = !std::exchange(answered->planned, true);
  }
  if (plan)
    caf::delayed_anon_send(manager, answered_tasks::linger, done_atom::value);
}

} // namespace manta::actors
