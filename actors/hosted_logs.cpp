// Lines the tasks a node hosts print, on their way to the tasks' owners
// (LogBatches, each task's lines before its result).
#include "actors/node_manager.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/observe/log_shipper.hpp"
#include "manta/core/runtime.hpp"
#include "manta/net/wire.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

namespace manta::actors {

std::shared_ptr<detail::log_shipper> make_shipper(node_manager_actor* self) {
  auto addr = caf::actor_cast<caf::actor_addr>(self); // weak: no cycle via the state
  return std::make_shared<detail::log_shipper>([addr](bool full) {
    auto hdl = caf::actor_cast<caf::actor>(addr);
    if (!hdl)
      return;
    if (full)
      caf::anon_send(hdl, flush_atom::value);
    else
      caf::delayed_anon_send(hdl, detail::log_shipper::flush_interval, flush_atom::value);
  });
}

namespace {

/// With the lane on: the lines of a task the data path hosted may be taken
/// before the node manager has its hosting message (its thread printed
/// them first); they wait for it here (`lane_direct::unhosted_lines`),
/// while its id is taken. Lines that waited go first.
void hold_unhosted(node_manager_actor* self, detail::log_shipper::batch& waiting) {
  auto& d = *self->state.direct;
  auto& running = self->state.running;
  if (!d.unhosted_lines.empty()) {
    waiting.lines.insert(waiting.lines.begin(), std::make_move_iterator(d.unhosted_lines.begin()),
                         std::make_move_iterator(d.unhosted_lines.end()));
    d.unhosted_lines.clear();
  }
  for (auto& [id, n] : d.unhosted_dropped)
    waiting.dropped[id] += n;
  d.unhosted_dropped.clear();
  std::lock_guard<std::mutex> guard{d.mtx};
  auto on_its_way = [&](uint64_t id) { return running.count(id) == 0 && d.ids.count(id) != 0; };
  auto kept = std::stable_partition(waiting.lines.begin(), waiting.lines.end(),
                                    [&](const auto& line) { return !on_its_way(line.task_id); });
  d.unhosted_lines.assign(std::make_move_iterator(kept),
                          std::make_move_iterator(waiting.lines.end()));
  waiting.lines.erase(kept, waiting.lines.end());
  for (auto i = waiting.dropped.begin(); i != waiting.dropped.end();)
    if (on_its_way(i->first)) {
      d.unhosted_dropped[i->first] += i->second;
      i = waiting.dropped.erase(i);
    } else {
      ++i;
    }
}

} // namespace

void ship_logs(node_manager_actor* self) {
  auto waiting = self->state.logs->take();
  if (self->state.direct)
    hold_unhosted(self, waiting);
  std::vector<std::pair<caf::actor, detail::wire::log_batch>> batches;
  auto batch_of = [&](uint64_t id) -> detail::wire::log_batch* {
    auto i = self->state.running.find(id);
    if (i == self->state.running.end())
      return nullptr;
    for (auto& [owner, b] : batches)
      if (owner == i->second.owner)
        return &b;
    batches.emplace_back(i->second.owner, detail::wire::log_batch{});
    batches.back().second.node = detail::runtime::node_name();
    return &batches.back().second;
  };
  for (auto& line : waiting.lines)
    if (auto* b = batch_of(line.task_id))
      b->lines.push_back(std::move(line));
  for (auto& [id, n] : waiting.dropped)
    if (auto* b = batch_of(id))
      b->dropped += n;
  for (auto& [owner, b] : batches)
    self->send(owner, logs_atom::value, self->state.token, detail::wire::encode(b));
}

} // namespace manta::actors
