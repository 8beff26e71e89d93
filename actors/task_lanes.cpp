// The driver's side of the direct task lane (net/task_lane.hpp,
// MANTA_TASK_LANE=1): one lane per connected worker, opened after the
// worker's node manager took the lane's key as this client's; the client
// writes specs and cancels on it, a thread reads the answers: a lone
// task's value it seals itself (its claim in `lane_claims`), then the
// client does the books (`lane_sealed`); every other answer it hands to
// the client, which claims each task once.
#include "actors/task_lanes.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/core/backoff.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/observe/log_sink.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <vector>
#include <random>

namespace manta::actors {

namespace {

std::atomic<uint64_t> sealed_count{0};
std::atomic<uint64_t> resent_count{0};

} // namespace

uint64_t lane_answers_sealed() noexcept {
  return sealed_count.load(std::memory_order_relaxed);
}

uint64_t lane_specs_resent() noexcept {
  return resent_count.load(std::memory_order_relaxed);
}

void lane_claims::add(uint64_t id, uint16_t node, int dispatch, detail::task_ptr task) {
  std::lock_guard<std::mutex> guard{mtx_};
  entries_[id] = entry{std::move(task), node, dispatch};
}

std::optional<lane_claims::entry> lane_claims::take(uint64_t id, uint16_t node) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(id);
  if (i == entries_.end() || i->second.node != node)
    return std::nullopt;
  auto e = std::move(i->second);
  entries_.erase(i);
  return e;
}

bool lane_claims::claim(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  return entries_.erase(id) > 0;
}

size_t lane_claims::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return entries_.size();
}

task_lanes::task_lanes() {
  if (detail::task_lane::enabled())
    claims_ = std::make_shared<lane_claims>();
}

task_lanes::~task_lanes() {
  for (auto& [node, open] : lanes_)
    open.lane->shut();
  for (auto& r : readers_)
    r.thread.join();
}

detail::task_lane::client* task_lanes::up(uint16_t node) const {
  auto i = lanes_.find(node);
  return i != lanes_.end() && i->second.lane->up() ? i->second.lane.get() : nullptr;
}

void task_lanes::open(uint16_t node, uint64_t key, std::shared_ptr<detail::task_lane::client> lane,
                      std::function<void()> read) {
  drop(node);
  lanes_[node] = open_lane{std::move(lane), key, std::chrono::steady_clock::now()};
  std::erase_if(readers_, [](reader& r) {
    if (!r.done->load(std::memory_order_acquire))
      return false;
    r.thread.join();
    return true;
  });
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread{[read = std::move(read), done] {
    read();
    done->store(true, std::memory_order_release);
  }};
  readers_.push_back(reader{std::move(thread), std::move(done)});
}

void task_lanes::drop(uint16_t node) {
  auto i = lanes_.find(node);
  if (i == lanes_.end())
    return;
  i->second.lane->shut(); // its reader ends; joined when the client ends
  lanes_.erase(i);
}

bool task_lanes::is(uint16_t node, uint64_t key) const {
  auto i = lanes_.find(node);
  return i != lanes_.end() && i->second.key == key;
}

std::chrono::milliseconds task_lanes::broke(uint16_t node) {
  auto& breaks = breaks_[node];
  if (auto i = lanes_.find(node); i != lanes_.end()) {
    if (std::chrono::steady_clock::now() - i->second.opened > std::chrono::seconds{10})
      breaks = 0; // it lived a while: not one of a storm
    drop(node);
  }
  return detail::backoff_delay(std::chrono::milliseconds{100}, breaks++, std::chrono::seconds{10});
}

namespace {

/// On lane `node`'s reader: seals task `id`'s value if the answer is a
/// successful inline value of a task this client sent on that lane and
/// the reader claims it first (`lane_claims::take`); false otherwise (the
/// client takes the answer). The client hears first (`lane_sealed_atom`),
/// so what the getter sends it once woken comes after the books, as when
/// the client sealed.
bool seal_here(const caf::actor& client, lane_claims& claims, uint16_t node, uint64_t id,
               const detail::wire::bytes& message, detail::wire::shared_bytes& value) {
  detail::wire::result_message r;
  if (!detail::wire::decode(message, r).empty() || r.task_id != id
      || r.kind != detail::wire::result_message::inline_value)
    return false;
  auto e = claims.take(id, node);
  if (!e)
    return false;
  if (r.value.empty())
    r.value = value.view();
  sealed_count.fetch_add(1, std::memory_order_relaxed); // before the getter wakes
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

void start_lane(self_ptr self, uint16_t index) {
  if (!detail::task_lane::enabled())
    return;
  auto& st = self->state;
  st.lanes.drop(index);
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
                     claims = st.lanes.claims(), tls = detail::reader_tls()] {
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
              if (seal_here(hdl, *claims, index, id, message, value))
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
      },
      [](caf::error&) {}); // a worker without the lane, or gone: the usual path
}

bool lane_spec(self_ptr self, uint16_t index, uint64_t id, const placed_task& p) {
  if (!detail::task_lane::enabled())
    return false;
  auto& st = self->state;
  auto* lane = st.lanes.up(index);
  if (lane == nullptr)
    return false;
  // In the table before the spec is out: its answer may come at once.
  st.lanes.claims()->add(id, index, p.dispatches, p.task);
  if (lane->send_spec(p.spec))
    return true;
  // Not sent (half of it at most: the worker drops the connection), so
  // not answered either; were it, the reader would have it.
  return !st.lanes.claim(id);
}

void lane_sealed(self_ptr self, uint16_t node, uint64_t id, int dispatch) {
  auto& st = self->state;
  auto* there = st.tasks.on(id, node);
  // Ended meanwhile by the client, which found the reader's claim (the
  // node's loss): its books are done.
  if (there == nullptr || !there->by_lane || there->dispatches != dispatch)
    return;
  end_sealed(self, id, *st.tasks.take(id));
}

void end_sealed(self_ptr self, uint64_t id, const placed_task& p) {
  settle_placed(self, id, p);
  if (self->state.rebuilds.any_lineage())
    generator_run_ended(self, id, false, true, "");
  place_waiting(self);
  steal_for_idle(self);
}

namespace {

/// The tasks still placed on `node` by its lane, which ended while the node
/// lives: each sent again over CAF, as a retry (a dispatch more, while
/// `max_retries` lasts): the worker adopts a run still going on
/// (`submit_hosted`), or runs it again if its answer was lost on the lane.
void resend_lane_tasks(self_ptr self, uint16_t node, const caf::actor& manager) {
  auto& st = self->state;
  for (auto id : st.tasks.placed_on(node)) {
    auto* p = st.tasks.on(id, node);
    if (p == nullptr || !p->by_lane || !st.lanes.claim(id))
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
    resent_count.fetch_add(1, std::memory_order_relaxed);
    send_spec(self, manager, p->spec);
    if (p->task && p->task->cancelled()) // its cancel on the lane may be lost too
      forward_cancel(self, id, false, false);
  }
  place_waiting(self);
}

} // namespace

void lane_down(self_ptr self, uint16_t node, uint64_t key) {
  auto& st = self->state;
  if (!st.lanes.is(node, key))
    return; // dropped meanwhile (its node lost, or attached again)
  auto delay = st.lanes.broke(node);
  auto* n = st.nodes.connected(node);
  if (n == nullptr)
    return;
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, lane_down_atom::value, node,
                         uint64_t{0});
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
        detail::log_line(log_level::warning,
                         "manta: the task lane to node-%u ended while the node lives; its tasks "
                         "still out on it are sent again the usual way, a new lane in %lld ms\n",
                         unsigned{node}, static_cast<long long>(delay.count()));
        resend_lane_tasks(self, node, manager);
      },
      // No answer within the connection timeout: the heartbeat finds the
      // node silent and its loss places the tasks again.
      [](caf::error&) {});
}

void lanes_heartbeat(self_ptr self, std::chrono::steady_clock::time_point now) {
  if (!detail::task_lane::enabled())
    return;
  auto& st = self->state;
  st.lanes.for_each([&](uint16_t node, detail::task_lane::client& lane) {
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
  });
}

void reopen_lane(self_ptr self, uint16_t node) {
  auto& st = self->state;
  if (st.nodes.connected(node) != nullptr && !st.lanes.has(node))
    start_lane(self, node);
}

bool lane_cancel(self_ptr self, uint16_t index, uint64_t id, bool force, bool recursive) {
  auto* lane = self->state.lanes.up(index);
  return lane != nullptr && lane->send_cancel(id, force, recursive);
}

} // namespace manta::actors
