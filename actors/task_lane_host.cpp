// The worker's side of the direct task lane (net/task_lane.hpp): the data
// path's lane connections hand their frames to the node manager, which
// hosts each task under the lane's owner as if the owner had sent its spec
// over CAF (cancel, printed lines, the owner's death reach it the same
// way); the answer goes back on the lane (`early_answer`) or, when the
// node manager answers, over CAF.
#include "actors/cluster_atoms.hpp"
#include "actors/node_manager.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/net/task_lane.hpp"

#include <caf/all.hpp>

namespace manta::actors {

void serve_task_lanes(node_manager_actor* self) {
  if (!detail::task_lane::enabled())
    return;
  detail::task_lane::set_handler(
    [manager = caf::actor_cast<caf::actor_addr>(self)](
      uint64_t key, const detail::task_lane::frame& f, std::vector<char> payload) {
      if (auto hdl = caf::actor_cast<caf::actor>(manager))
        caf::anon_send(hdl, lane_atom::value, key, f.kind, f.id, f.extra, std::move(payload));
    });
}

void on_lane_frame(node_manager_actor* self, uint64_t key, uint32_t kind, uint64_t id,
                   uint64_t extra, std::vector<char>& payload) {
  auto i = self->state.lane_owners.find(key);
  if (i == self->state.lane_owners.end()) {
    // The owner says hello over CAF before it opens the lane: never here.
    detail::log_line(log_level::warning,
                     "manta: %s: dropped a frame of a task lane no owner announced\n",
                     detail::runtime::node_name().c_str());
    return;
  }
  if (kind == detail::task_lane::spec)
    submit_hosted(self, payload, i->second, key);
  else if (kind == detail::task_lane::cancel)
    cancel_hosted(self, id, (extra & 1U) != 0, (extra & 2U) != 0);
}

} // namespace manta::actors
