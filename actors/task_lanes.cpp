// A driver's task lanes (net/task_lane.hpp, MANTA_TASK_LANE=1): the
// lanes of each worker, current and retired, their readers' threads, and
// the claims table of the tasks sent on them (task_lanes.hpp). What the
// cluster client does with them is lane_driver.cpp's.
#include "actors/task_lanes.hpp"

#include "manta/core/backoff.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <vector>

namespace manta::actors {


namespace {

std::array<std::atomic<uint64_t>, static_cast<size_t>(lane_event::count_)> counts{};

void count(lane_event e) noexcept {
  counts[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
}

} // namespace

uint64_t lane_count(lane_event e) noexcept {
  return counts[static_cast<size_t>(e)].load(std::memory_order_relaxed);
}

void lane_claims::add(uint64_t id, uint16_t node, uint64_t key, int dispatch,
                      detail::task_ptr task) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = entries_.find(id); i != entries_.end())
    erase(i);
  entries_.emplace(id, entry{std::move(task), node, key, dispatch});
  ++per_lane_[key];
}

void lane_claims::erase(std::unordered_map<uint64_t, entry>::iterator i) {
  if (auto c = per_lane_.find(i->second.key); c != per_lane_.end() && --c->second == 0)
    per_lane_.erase(c);
  entries_.erase(i);
}

bool lane_claims::claim_on(uint64_t id, uint64_t key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(id);
  if (i == entries_.end() || i->second.key != key)
    return false;
  erase(i);
  return true;
}

uint64_t lane_claims::key_of(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(id);
  return i == entries_.end() ? 0 : i->second.key;
}

size_t lane_claims::on_lane(uint64_t key) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = per_lane_.find(key);
  return i == per_lane_.end() ? 0 : i->second;
}

std::optional<lane_claims::entry> lane_claims::take(uint64_t id, uint16_t node) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(id);
  if (i == entries_.end() || i->second.node != node)
    return std::nullopt;
  auto e = std::move(i->second);
  erase(i);
  return e;
}

bool lane_claims::claim(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(id);
  if (i == entries_.end())
    return false;
  erase(i);
  return true;
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
  for (auto& r : retired_)
    r.lane->shut();
  for (auto& r : readers_)
    r.thread.join();
}

detail::task_lane::client* task_lanes::up(uint16_t node, uint64_t* key) const {
  auto i = lanes_.find(node);
  if (i == lanes_.end() || !i->second.lane->up())
    return nullptr;
  if (key != nullptr)
    *key = i->second.key;
  return i->second.lane.get();
}

void task_lanes::open(uint16_t node, uint64_t key, std::shared_ptr<detail::task_lane::client> lane,
                      std::function<void()> read) {
  drop_current(node);
  count(lane_event::opened);
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
  drop_current(node);
  renewed_.erase(node);
  std::erase_if(retired_, [&](retired_lane& r) {
    if (r.node != node)
      return false;
    r.lane->shut(); // its tasks go again with the node's (`node_lost`)
    return true;
  });
}

void task_lanes::retire(uint16_t node) {
  auto i = lanes_.find(node);
  if (i == lanes_.end())
    return;
  retired_.push_back(retired_lane{node, i->second.key, std::move(i->second.lane)});
  lanes_.erase(i);
  renewed_[node] = true;
  count(lane_event::retired);
  close_retired(); // nothing out on it already
}

bool task_lanes::forget_retired(uint16_t node, uint64_t key) {
  auto n = std::erase_if(retired_, [&](retired_lane& r) { return r.node == node && r.key == key; });
  return n != 0;
}

detail::task_lane::client* task_lanes::by_key(uint16_t node, uint64_t key) const {
  if (auto i = lanes_.find(node); i != lanes_.end() && i->second.key == key)
    return i->second.lane->up() ? i->second.lane.get() : nullptr;
  for (auto& r : retired_)
    if (r.node == node && r.key == key)
      return r.lane->up() ? r.lane.get() : nullptr;
  return nullptr;
}

void task_lanes::close_retired() {
  std::erase_if(retired_, [&](retired_lane& r) {
    if (claims_->on_lane(r.key) != 0)
      return false;
    // Its last answer was read: it ends without a reset (its reader sends
    // nothing again).
    r.lane->shut();
    count(lane_event::closed);
    return true;
  });
}

void task_lanes::drop_current(uint16_t node) {
  auto i = lanes_.find(node);
  if (i == lanes_.end())
    return;
  i->second.lane->shut(); // its reader ends; joined when the client ends
  lanes_.erase(i);
}

bool task_lanes::knows(uint16_t node, uint64_t key) const {
  return is(node, key) || std::any_of(retired_.begin(), retired_.end(), [&](const retired_lane& r) {
           return r.node == node && r.key == key;
         });
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
    drop_current(node);
  }
  return detail::backoff_delay(std::chrono::milliseconds{100}, breaks++, std::chrono::seconds{10});
}

void count_lane_sealed(bool renewed) noexcept {
  count(lane_event::sealed);
  if (renewed)
    count(lane_event::sealed_renewed);
}

void count_lane_event(lane_event e) noexcept {
  count(e);
}

} // namespace manta::actors
