#include "manta/sim/sim_world.hpp"

#include <algorithm>
#include <cmath>

// Objects crossing the simulated network (docs/simulation.md): where and
// when each object was sealed, and how long a reader on another node waits.
namespace manta::detail::sim {

void world::sealed(const object_slot& slot) {
  if (!eng_.on_owner())
    return; // sealed by a thread outside the simulation: readable everywhere at once
  if (current_ != nullptr && current_->rec->rebuild)
    return; // a rebuild's throwaway result (sim_lineage.cpp)
  note_held(slot);
  if (opts_.latency.count() == 0 && opts_.bandwidth <= 0)
    return; // crossing takes no time
  std::lock_guard guard{produced_mtx_};
  produced_[&slot] = produced{current_node(), eng_.now(), slot.size_bytes(), {}};
}

void world::forget(const object_slot* slot) noexcept {
  task_ptr lineage; // dropped after the lock: its arguments leave here too
  std::lock_guard guard{produced_mtx_};
  produced_.erase(slot);
  if (auto it = held_.find(slot); it != held_.end()) {
    lineage = std::move(it->second.task);
    if (it->second.rebuilding)
      it->second.rebuilding->slot = nullptr;
    held_.erase(it);
  }
}

vtime world::crossing(produced& p, uint32_t to, vtime ready) {
  if (p.node == to)
    return ready;
  for (auto& c : p.sent)
    if (c.node == to && c.epoch == nodes_[to].epoch)
      return c.at; // sent there before
  auto start = ready;
  vtime wire{0};
  if (opts_.bandwidth > 0) {
    wire = vtime{
      static_cast<int64_t>(std::ceil(static_cast<double>(p.bytes) * 1e9 / opts_.bandwidth))};
    if (out_busy_.size() < nodes_.size()) {
      out_busy_.resize(nodes_.size(), vtime{0});
      in_busy_.resize(nodes_.size(), vtime{0});
    }
    start = std::max({ready, out_busy_[p.node], in_busy_[to]});
    out_busy_[p.node] = in_busy_[to] = start + wire;
  }
  auto at = start + wire + opts_.latency + draw_jitter();
  // A lost crossing is sent again after `resend_after`, as a lost message
  // is (its link time is not booked again).
  while (draw_loss())
    at += opts_.resend_after;
  std::erase_if(p.sent, [&](const sent_copy& c) { return c.node == to; }); // an earlier life's
  p.sent.push_back(sent_copy{to, nodes_[to].epoch, at});
  return at;
}

vtime world::readable_at(std::span<object_slot* const> slots, uint32_t node, bool& cut) {
  cut = false;
  auto at = eng_.now();
  std::lock_guard guard{produced_mtx_};
  for (auto* s : slots) {
    if (!s->done())
      continue;
    auto it = produced_.find(s);
    if (it == produced_.end() || it->second.node == node)
      continue;
    if (!reachable(it->second.node, node)) {
      cut = true; // nothing crosses until the heal
      continue;
    }
    // Sent when sealed, as a result goes back to its owner.
    at = std::max(at, crossing(it->second, node, it->second.at));
  }
  return at;
}

bool world::fetch(std::span<object_slot* const> watch, std::optional<vtime> deadline, bool read) {
  if (watch.empty())
    return true;
  auto node = current_node();
  for (;;) {
    if (read) // a lost object is rebuilt first (again if lost meanwhile)
      for (auto* s : watch)
        if (!recover(s, deadline))
          return false;
    bool cut = false;
    auto at = readable_at(watch, node, cut);
    if (!cut && at <= eng_.now()) {
      if (read && node == 0)
        for (auto* s : watch)
          copied(s, 0); // the driver holds it now: never lost again
      return true;
    }
    // Across a partition nothing arrives: look again after a resend.
    auto until = cut ? std::max(at, eng_.now() + opts_.resend_after) : at;
    if (deadline && until > *deadline) {
      if (*deadline > eng_.now())
        block([] { return false; }, *deadline);
      return false;
    }
    block([] { return false; }, until);
  }
}

bool world::reachable(uint32_t a, uint32_t b) const noexcept {
  return side_[a] == side_[b];
}

vtime world::delay(uint32_t from, uint32_t to, bool& lost) {
  lost = false;
  if (from == to)
    return vtime{0};
  lost = !reachable(from, to) || draw_loss();
  return opts_.latency + draw_jitter();
}

bool world::draw_loss() {
  if (opts_.loss <= 0)
    return false;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  return unit(eng_.stream("network")) < opts_.loss;
}

vtime world::draw_jitter() {
  if (opts_.jitter.count() <= 0)
    return vtime{0};
  std::exponential_distribution<double> d{1.0 / static_cast<double>(opts_.jitter.count())};
  return vtime{static_cast<int64_t>(d(eng_.stream("network")))};
}

} // namespace manta::detail::sim
