// The driver's side of the direct task lane (net/task_lane.hpp,
// MANTA_TASK_LANE=1), the cluster client's part: one lane per connected
// worker, opened after the worker's node manager took the lane's key as
// this client's; the client writes specs and cancels on it, a thread reads
// the answers: a lone task's value it seals itself (its claim in
// `lane_claims`), then the client does the books (`lane_sealed`); every
// other answer it hands to the client, which claims each task once. A TLS
// lane whose key nears its limit is retired: a new lane takes the new
// specs, the old one closes once its tasks are answered.
#include "actors/task_lanes.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "actors/lane_door.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/core/backoff.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/sched/typed_task.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/lent_handles.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <vector>
#include <random>
#include <string_view>
#include <typeinfo>

namespace manta::actors {

namespace {

/// On lane `node`'s reader: seals task `id`'s value if the answer is a
/// successful inline value of a task this client sent on that lane and
/// the reader claims it first (`lane_claims::take`); false otherwise (the
/// client takes the answer). The client hears first (`lane_sealed_atom`),
/// so what the getter sends it once woken comes after the books, as when
/// the client sealed.
bool seal_here(const caf::actor& client, lane_claims& claims, lane_door* door, uint16_t node,
               uint64_t id, const detail::wire::bytes& message, detail::wire::shared_bytes& value,
               bool renewed) {
  detail::wire::result_message r;
  if (!detail::wire::decode(message, r).empty() || r.task_id != id
      || r.kind != detail::wire::result_message::inline_value)
    return false;
  auto e = claims.take(id, node);
  if (!e)
    return false;
  if (r.value.empty())
    r.value = value.view();
  count_lane_sealed(renewed); // before the getter wakes
  // A task its submitting thread wrote that the client has not booked
  // yet has no books: the client is not woken for it (lane_door.hpp).
  if (door == nullptr || !door->answered(id, node, e->task->opts.resources.cpus))
    caf::anon_send(client, lane_sealed_atom::value, node, id, int32_t{e->dispatch});
  seal_inline_value(*e->task, r.value, value.bytes ? &value : nullptr, node, id);
  return true;
}

uint64_t new_key() {
  static std::atomic<uint64_t> count{0};
  static const uint64_t seed = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  auto key = seed ^ (++count * 0x9e3779b97f4a7c15ULL);
  return key == 0 ? 1 : key;
}

} // namespace

namespace {

/// Whether task `t` returns `std::vector<char>`, whose encoding is the
/// vector's bytes (its signature is the function's mangled type: "F", then
/// the result's mangled type, which no other result's mangling begins
/// with).
bool returns_char_vector(const detail::task_spec& t) {
  static const std::string prefix = std::string{"F"} + typeid(std::vector<char>).name();
  return std::string_view{t.signature()}.starts_with(prefix);
}

} // namespace

void seal_inline_value(detail::task_spec& t, std::span<const char> value,
                       const detail::wire::shared_bytes* beside, uint16_t node, uint64_t id) {
  if (beside != nullptr && returns_char_vector(t)) {
    // The bytes that arrived are the value: moved in, not decoded (as
    // typed_task::seal_encoded would seal a decoded one).
    try {
      detail::seal_result(*t.result, beside->take());
    } catch (...) {
      t.result->seal_error(std::current_exception());
    }
    return;
  }
  auto borrowed = detail::refs_borrowed_here();
  t.seal_encoded(value);
  // Refs inside it, read here: after this node's +1s for them, their owner
  // (the worker) lets go of the result's pins on them.
  if (detail::refs_borrowed_here() != borrowed)
    detail::tell_home(node, id, detail::result_read_delta);
}

void start_lane(self_ptr self, uint16_t index) {
  if (!detail::task_lane::enabled())
    return;
  auto& st = self->state;
  st.lanes.drop_current(index); // a retired one reads on
  auto* n = st.nodes.connected(index);
  if (n == nullptr || n->info.data_port == 0)
    return;
  auto key = new_key();
  auto manager = n->manager;
  self->request(manager, std::chrono::seconds{10}, lane_hello_atom::value, st.link->token(), key)
    .then(
      [=](bool ok) {
        auto& st = self->state;
        auto* n = st.nodes.connected(index);
        if (!ok || n == nullptr || n->manager != manager)
          return;
        auto lane = std::make_shared<detail::task_lane::client>();
        // In a TLS cluster, the data path's TLS (its handshake and checks,
        // its records): the reader's thread connects.
        auto read = [lane, host = n->info.host, port = n->info.data_port, token = st.link->token(),
                     key, index, client = caf::actor_cast<caf::actor_addr>(self),
                     claims = st.lanes.claims(), door = st.door, tls = detail::reader_tls(),
                     renewed = st.lanes.renewed(index)] {
          if (auto err = lane->connect(host, port, token, key, tls); !err.empty()) {
            detail::log_line(log_level::warning,
                             "manta: no task lane to node-%u (%s): its tasks go the usual way\n",
                             unsigned{index}, err.c_str());
            return;
          }
          bool broke = lane->read_loop(
            [&](uint64_t id, std::vector<char> message, std::vector<char> beside) {
              auto hdl = caf::actor_cast<caf::actor>(client);
              if (!hdl)
                return;
              detail::wire::shared_bytes value;
              if (!beside.empty()) {
                value.bytes = std::make_shared<std::vector<char>>(std::move(beside));
                value.received = true;
              }
              if (seal_here(hdl, *claims, door.get(), index, id, message, value, renewed))
                return;
              caf::anon_send(hdl, lane_result_atom::value, index, id, std::move(message),
                             std::move(value));
            });
          // Ended on its own: the client sends again what is still out on
          // it (after the answers above, sent from this thread before).
          if (auto hdl = caf::actor_cast<caf::actor>(client); hdl && broke)
            caf::anon_send(hdl, lane_down_atom::value, index, key);
          if (auto why = lane->ended_for(); !why.empty())
            detail::log_line(log_level::warning,
                             "manta: the task lane to node-%u ended: %s: its later tasks go the "
                             "usual way\n",
                             unsigned{index}, why.c_str());
        };
        st.lanes.open(index, key, std::move(lane), std::move(read));
        lane_door_publish(self);
      },
      [](caf::error&) {}); // a worker without the lane, or gone: the usual path
}

bool lane_spec(self_ptr self, uint16_t index, uint64_t id, const placed_task& p) {
  if (!detail::task_lane::enabled())
    return false;
  auto& st = self->state;
  uint64_t key = 0;
  auto* lane = st.lanes.up(index, &key);
  if (lane == nullptr)
    return false;
  // In the table before the spec is out: its answer may come at once.
  st.lanes.claims()->add(id, index, key, p.dispatches, p.task);
  count_lane_event(lane_event::spec_by_client);
  if (lane->send_spec(p.spec)) {
    // Its TLS key close to its limit: no new spec on it, a new lane (the
    // usual path until it is up); it closes once its tasks are answered.
    if (lane->worn()) {
      detail::log_line(log_level::info,
                       "manta: the task lane to node-%u is retired (its TLS key sealed or opened "
                       "%llu records): a new lane is opened\n",
                       unsigned{index},
                       static_cast<unsigned long long>(detail::task_lane::retire_records()));
      st.lanes.retire(index);
      start_lane(self, index);
    }
    return true;
  }
  // Not sent (half of it at most: the worker drops the connection), so
  // not answered either; were it, the reader would have it.
  return !st.lanes.claim(id);
}

void lane_sealed(self_ptr self, uint16_t node, uint64_t id, int dispatch) {
  auto& st = self->state;
  if (st.door)
    st.door->settled(id); // the door's view follows the books below
  auto* there = st.tasks.on(id, node);
  // Ended meanwhile by the client, which found the reader's claim (the
  // node's loss): its books are done.
  if (there == nullptr || !there->by_lane || there->dispatches != dispatch)
    return;
  end_sealed(self, id, *st.tasks.take(id));
  st.lanes.close_retired(); // a retired lane's last answer, maybe
}

void end_sealed(self_ptr self, uint64_t id, const placed_task& p) {
  settle_placed(self, id, p);
  if (self->state.rebuilds.any_lineage())
    generator_run_ended(self, id, false, true, "");
  place_waiting(self);
  steal_for_idle(self);
}

namespace {

/// Lane `key` to worker `node` (`n`) ended on its own. Its reader has
/// ended, and what it read came before this message: the tasks still
/// placed there by that lane have no answer here. Each is sent again over
/// CAF, as a retry (a dispatch more, while `max_retries` lasts): the worker
/// adopts a run still going on (`submit_hosted`), or runs it again if its
/// answer was lost on the lane. The tasks of the node's other lane (new or
/// retired) stay where they are.
void resend_lane_tasks(self_ptr self, uint16_t node, uint64_t key, const remote_node& n);

} // namespace

void lane_down(self_ptr self, uint16_t node, uint64_t key) {
  auto& st = self->state;
  bool retired = st.lanes.forget_retired(node, key);
  if (!retired && !st.lanes.is(node, key))
    return; // dropped meanwhile (its node lost, or attached again)
  std::chrono::milliseconds delay{0};
  if (!retired) {
    delay = st.lanes.broke(node);
    if (st.nodes.connected(node) != nullptr)
      caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, lane_down_atom::value, node,
                             uint64_t{0});
  }
  std::string note;
  if (retired)
    note =
      "manta: a retired task lane to node-" + std::to_string(node)
      + " ended while the node lives; its tasks still out on it are sent again the usual way\n";
  else
    note = "manta: the task lane to node-" + std::to_string(node)
           + " ended while the node lives; its tasks still out on it are sent again the usual "
             "way, a new lane in "
           + std::to_string(delay.count()) + " ms\n";
  resend_when_answered(self, node, key, note);
}

void resend_when_answered(self_ptr self, uint16_t node, uint64_t key, const std::string& note) {
  auto& st = self->state;
  auto* n = st.nodes.connected(node);
  if (n == nullptr)
    return;
  // Its reader has ended, and what it read came before this message: the
  // tasks still placed there by the lane have no answer here. A worker that
  // died ends its lane a moment before its CAF connection: the node's loss
  // then places those tasks again, and a resend now would spend a second
  // retry of each on a dead node. So the node manager is asked first; its
  // answer, sent after this question came, says the node outlived its lane.
  auto manager = n->manager;
  self
    ->request<caf::message_priority::high>(manager, st.silence_limit, ping_atom::value,
                                           st.link->token(), key)
    .then(
      [=](bool) {
        auto* n = self->state.nodes.connected(node);
        if (n == nullptr || n->manager != manager)
          return; // lost meanwhile: its loss placed them again
        if (!note.empty())
          detail::log_line(log_level::warning, "%s", note.c_str());
        resend_lane_tasks(self, node, key, *n);
        place_waiting(self);
      },
      // No answer within the connection timeout: the heartbeat finds the
      // node silent and its loss places the tasks again.
      [](caf::error&) {});
}

namespace {

void resend_lane_tasks(self_ptr self, uint16_t node, uint64_t key, const remote_node& n) {
  auto& st = self->state;
  for (auto id : st.tasks.placed_on(node)) {
    auto* p = st.tasks.on(id, node);
    if (p == nullptr || !p->by_lane || !st.lanes.claims()->claim_on(id, key))
      continue;
    p->by_lane = false;
    if (p->dispatches > p->max_retries) {
      auto lost = std::move(*p);
      st.tasks.erase(id);
      settle_placed(self, id, lost);
      fail_placed(self, id, lost,
                  "was lost: its task lane to node-" + std::to_string(node)
                    + " broke while it ran and its " + std::to_string(lost.max_retries)
                    + " retries are used up");
      if (st.rebuilds.any_lineage())
        generator_run_ended(self, id, false, true, "");
      continue;
    }
    p->count_dispatch(1);
    count_lane_event(lane_event::resent);
    send_spec(self, n.manager, p->spec);
    if (p->task && p->task->cancelled()) // its cancel on the lane may be lost too
      forward_cancel(self, id, false, false);
  }
}

} // namespace

void lanes_heartbeat(self_ptr self, std::chrono::steady_clock::time_point now) {
  if (!detail::task_lane::enabled())
    return;
  auto& st = self->state;
  // A retired lane none of whose tasks is out is closed; the others are
  // checked and pinged as a current lane (a pong a heartbeat keeps one
  // waiting for a long task's answer alive, a record each from the margin
  // its key keeps after `retire_records`).
  st.lanes.close_retired();
  auto check = [&](uint16_t node, detail::task_lane::client& lane) {
    auto* n = st.nodes.connected(node);
    if (n == nullptr || !lane.up())
      return;
    // Stalled while the node's CAF connection lives (a flow dropped on its
    // way, no reset): ended as a reset would end it.
    if (now - n->last_heard < st.silence_limit && lane.stalled(st.silence_limit)) {
      detail::log_line(log_level::warning,
                       "manta: the task lane to node-%u read nothing for %lld ms while its "
                       "node's connection lives: it is reset\n",
                       unsigned{node}, static_cast<long long>(st.silence_limit.count()));
      lane.reset();
      return;
    }
    lane.send_ping();
  };
  st.lanes.for_each(check);
  st.lanes.for_each_retired(check);
}

void reopen_lane(self_ptr self, uint16_t node) {
  auto& st = self->state;
  if (st.nodes.connected(node) != nullptr && !st.lanes.has(node))
    start_lane(self, node);
}

bool lane_cancel(self_ptr self, uint16_t index, uint64_t id, bool force, bool recursive) {
  // On the lane its spec went on (the worker knows the task by that
  // lane's key), or over CAF if that lane is gone or its answer came.
  auto& lanes = self->state.lanes;
  auto* lane = lanes.by_key(index, lanes.claims()->key_of(id));
  return lane != nullptr && lane->send_cancel(id, force, recursive);
}

} // namespace manta::actors
