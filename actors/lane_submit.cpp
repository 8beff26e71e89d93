// The cluster client's side of the lane door (lane_door.hpp): it books the
// tasks submitting threads wrote on lanes themselves, as `send_to` books a
// task it sends, and publishes how the workers stand for their next
// choices. MANTA_TASK_LANE=1 only.
#include "actors/cluster_client_internal.hpp"
#include "actors/lane_door.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/observe/log_sink.hpp"

#include <algorithm>

namespace manta::actors {

namespace {

/// Books task `s`, written on worker `s.node`'s lane `s.key` before the
/// door's lock was given back, so before this client looked: every message
/// that concerns it (its answer over CAF or on the lane, its node's loss,
/// its lane's end, its cancel, a queue report) came after the write, and
/// is handled after this (`lane_door_sync` runs first in each handler).
void book(self_ptr self, lane_door::sent& s) {
  auto& st = self->state;
  auto& claims = *st.lanes.claims();
  if (claims.key_of(s.id) == 0) {
    // The lane's reader claimed its answer first and sealed it: that
    // dispatch ended, with nothing held for it yet (its `lane_sealed`
    // finds no placement and does nothing).
    st.lanes.close_retired();
    if (st.rebuilds.any_lineage())
      generator_run_ended(self, s.id, false, true, "");
    return;
  }
  auto* n = st.nodes.connected(s.node);
  auto& p = st.tasks.record(s.id);
  p.task = s.task;
  p.spec = std::move(s.spec);
  p.demand = s.task->opts.resources;
  p.max_retries = s.task->opts.max_retries;
  p.max_node_failures = s.task->opts.max_node_failures;
  p.count_dispatch(1);
  if (n == nullptr) {
    // Its worker was lost after the write (the loss dropped its lane):
    // the loss's rule for each of its tasks, unless its answer came first.
    if (!st.lanes.claim(s.id)) {
      st.tasks.erase(s.id);
      return;
    }
    lost_before_booked(self, s.id, s.node);
    return;
  }
  hold(*n, p.demand, 1);
  p.node = s.node;
  p.by_lane = true;
  if (!st.lanes.knows(s.node, s.key)) {
    // Its lane ended and was dropped (`lane_down`) after the write: sent
    // again over CAF once the node answers, as that lane's other tasks
    // (a second ask is harmless: the first resend took them back).
    resend_when_answered(self, s.node, s.key, "");
    return;
  }
  uint64_t key = 0;
  if (auto* lane = st.lanes.up(s.node, &key); lane != nullptr && key == s.key && lane->worn()) {
    // As `lane_spec`: its TLS key close to its limit, the lane is retired.
    detail::log_line(log_level::info,
                     "manta: the task lane to node-%u is retired (its TLS key sealed or opened "
                     "%llu records): a new lane is opened\n",
                     unsigned{s.node},
                     static_cast<unsigned long long>(detail::task_lane::retire_records()));
    st.lanes.retire(s.node);
    start_lane(self, s.node);
  }
}

} // namespace

void lane_door_sync(self_ptr self) {
  if (!self->state.door)
    return;
  for (auto& s : self->state.door->take_sent())
    book(self, s);
  lane_door_publish(self);
}

void lane_door_publish(self_ptr self) {
  auto& st = self->state;
  auto& door = st.door;
  if (!door)
    return;
  std::vector<lane_door::node> nodes;
  for (auto& [index, n] : st.nodes) {
    if (!n.manager)
      continue;
    lane_door::node v{index, n.info.cpus, n.busy_cpus, nullptr, 0};
    v.lane = st.lanes.current(index, &v.key);
    nodes.push_back(std::move(v));
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const lane_door::node& a, const lane_door::node& b) { return a.index < b.index; });
  door->publish(std::move(nodes));
}

} // namespace manta::actors
