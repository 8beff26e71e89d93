// The driver's side of the direct task lane (net/task_lane.hpp,
// MANTA_TASK_LANE=1): one lane per connected worker, opened after the
// worker's node manager took the lane's key as this client's; the client
// writes specs and cancels on it, a thread reads the answers and hands
// them to the client, which claims each task once (`on_lane_result`).
#include "actors/task_lanes.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client_internal.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/observe/log_sink.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <vector>
#include <random>

namespace manta::actors {

task_lanes::~task_lanes() {
  for (auto& [node, lane] : lanes_)
    lane->shut();
  for (auto& r : readers_)
    r.thread.join();
}

detail::task_lane::client* task_lanes::up(uint16_t node) const {
  auto i = lanes_.find(node);
  return i != lanes_.end() && i->second->up() ? i->second.get() : nullptr;
}

void task_lanes::open(uint16_t node, std::shared_ptr<detail::task_lane::client> lane,
                      std::function<void()> read) {
  drop(node);
  lanes_[node] = std::move(lane);
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
  i->second->shut(); // its reader ends; joined when the client ends
  lanes_.erase(i);
}

namespace {

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
  // A TLS cluster's data path speaks TLS: the lane does not (yet).
  if (n == nullptr || n->info.data_port == 0 || detail::reader_tls() != nullptr)
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
        auto read = [lane, host = n->info.host, port = n->info.data_port, token = st.link->token(),
                     key, index, client = caf::actor_cast<caf::actor_addr>(self)] {
          if (auto err = lane->connect(host, port, token, key); !err.empty()) {
            detail::log_line(log_level::warning,
                             "manta: no task lane to node-%u (%s): its tasks go the usual way\n",
                             unsigned{index}, err.c_str());
            return;
          }
          lane->read_loop([&](uint64_t id, std::vector<char> message, std::vector<char> beside) {
            auto hdl = caf::actor_cast<caf::actor>(client);
            if (!hdl)
              return;
            detail::wire::shared_bytes value;
            if (!beside.empty()) {
              value.bytes = std::make_shared<std::vector<char>>(std::move(beside));
              value.received = true;
            }
            caf::anon_send(hdl, lane_result_atom::value, index, id, std::move(message),
                           std::move(value));
          });
        };
        st.lanes.open(index, std::move(lane), std::move(read));
      },
      [](caf::error&) {}); // a worker without the lane, or gone: the usual path
}

bool lane_spec(self_ptr self, uint16_t index, const bytes_t& spec) {
  if (!detail::task_lane::enabled())
    return false;
  auto* lane = self->state.lanes.up(index);
  return lane != nullptr && lane->send_spec(spec);
}

bool lane_cancel(self_ptr self, uint16_t index, uint64_t id, bool force, bool recursive) {
  auto* lane = self->state.lanes.up(index);
  return lane != nullptr && lane->send_cancel(id, force, recursive);
}

} // namespace manta::actors
