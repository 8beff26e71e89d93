#pragma once

#include "manta/cluster/node_choice.hpp"
#include "manta/cluster/remote_object.hpp"
#include "manta/net/wire.hpp"
#include "manta/resources.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/store/contained_refs.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::actors {

/// A task placed (or waiting to be placed) on a worker: a submitted task, or
/// the rebuild of a lost object from its lineage.
struct placed_task {
  detail::task_ptr task;      ///< null for a rebuild
  detail::remote_ptr rebuild; ///< the object a rebuild recreates
  detail::wire::bytes spec;   ///< the encoded TaskSpec
  detail::resource_demand demand;
  int max_retries = 0;
  /// Its attempts so far, on every node: the one budget of `max_retries`
  /// (a node runs an owner's task once and reports whether its failure is
  /// retryable; the owner sends it again). A task taken back before it
  /// started gives its dispatch back.
  int dispatches = 0;
  /// Counts a dispatch (+1) or one given back (-1), and keeps the task's
  /// own attempt count in step: a retry that then runs on this node goes on
  /// from the attempts spent elsewhere (the same budget), and the listing's
  /// `attempts` counts them.
  void count_dispatch(int delta) {
    dispatches += delta;
    if (task)
      task->attempts.store(dispatches, std::memory_order_relaxed);
  }
  /// The task's `max_node_failures` (-1: none).
  int max_node_failures = -1;
  /// The nodes lost while it was placed there, with the id of each loss
  /// (`node_links::lose`).
  std::vector<std::pair<uint16_t, uint64_t>> node_losses;
  uint16_t node = 0; ///< 0 while not placed
  /// Sent to `node` on its task lane (net/task_lane.hpp): its cancel goes
  /// the same way, behind it.
  bool by_lane = false;
  /// The worker holding most of its referenced argument bytes (0: none):
  /// placed there if it has room, so those bytes need not move.
  uint16_t prefer = 0;
  /// The objects its ArgRefs name, and what keeps each alive here: the
  /// node it is sent to becomes one of their holders.
  std::vector<std::pair<uint64_t, std::weak_ptr<const void>>> reads;
  /// The refs written inside its arguments: pinned here until the task
  /// ends (its result arrived after the +1s of the node that read them, or
  /// it ended without running).
  detail::contained_refs lent;
};

/// The TaskSpec of task `t` of job `job_id`, every field but its arguments
/// (the caller adds them: values, and the refs read from their holders),
/// for the client's placement and for the lane door alike.
detail::wire::task_message spec_fields(const detail::task_spec& t, const std::string& job_id);

/// A task whose object arguments are being fetched before it can be sent.
struct preparing_task {
  detail::task_ptr task;
  std::vector<std::optional<detail::wire::bytes>> args;
  /// Arguments the receiving node reads from their holders.
  std::vector<detail::wire::arg_ref> refs;
  /// The objects of `refs` and what keeps each alive here.
  std::vector<std::pair<uint64_t, std::weak_ptr<const void>>> reads;
  size_t missing = 0;
  detail::contained_refs lent; ///< the refs written inside its arguments
  /// A task prepared again (an argument was lost): its attempts and node
  /// losses so far, kept so that its retry budget is not reset.
  int dispatches = 0;
  std::vector<std::pair<uint16_t, uint64_t>> node_losses;
};

/// Placed tasks that ask for the same resources with the
/// same strategy and wait for a node with room, oldest first.
struct waiting_group {
  detail::resource_demand demand;
  scheduling_strategy where;
  std::deque<uint64_t> ids;
};

/// The driver's tasks on their way to workers: those whose arguments are
/// being prepared, those placed (or to be placed) by result id, the ones
/// waiting for a node with room in groups, and where the last SPREAD task
/// went. The steps that prepare, place and take back tasks are
/// task_placement.cpp's, work_stealing.cpp's and worker_links.cpp's.
class placed_tasks {
public:
  // -- placed tasks ------------------------------------------------------------

  /// Task `id`'s placement, or null if it has none (it ended, or never
  /// left this node).
  placed_task* find(uint64_t id);

  /// Task `id`'s placement if it is placed on `node`, else null: what
  /// `node` says of a task counts only while the task is there.
  placed_task* on(uint64_t id, uint16_t node);

  /// Task `id`'s placement, made if there is none (it is placed now).
  placed_task& record(uint64_t id);

  /// Task `id`'s placement, taken out (its result came); none if it has
  /// none.
  std::optional<placed_task> take(uint64_t id);

  /// Forgets task `id`'s placement (it ended, or runs on this node).
  void erase(uint64_t id);

  /// The tasks placed on `node` now.
  std::vector<uint64_t> placed_on(uint16_t node) const;

  /// Whether task `id` is under way: placed, waiting or being prepared (a
  /// run of it will come).
  bool under_way(uint64_t id) const;

  // -- waiting for a verdict ---------------------------------------------------

  /// Task `id` (placed, its node lost) waits until the driver knows whether
  /// the nodes lost under it died or were cut off (worker_links.cpp,
  /// `judge_loss`).
  void await_verdict(uint64_t id) { undecided_.push_back(id); }

  /// The tasks waiting for a verdict, taken out (to be judged again).
  std::vector<uint64_t> take_undecided() { return std::exchange(undecided_, {}); }

  // -- waiting for a node with room --------------------------------------------

  /// Task `id` (placed, asking for `demand` in `where`) waits for room,
  /// behind those of its group.
  void wait(uint64_t id, const detail::resource_demand& demand, const scheduling_strategy& where);

  /// Offers the waiting tasks to `place` group by group, oldest first,
  /// until it returns false for one (none behind it in its group could be
  /// placed either: each call looks at each group, not at every waiting
  /// task); those it placed leave their group.
  template <class F>
  void place_waiting(F&& place) {
    for (auto& g : waiting_)
      while (!g.ids.empty() && place(g.ids.front()))
        g.ids.pop_front();
  }

  /// Where a task goes (cluster/node_choice.hpp), SPREAD going on after
  /// the node that took the last one.
  detail::node_choice choose(const detail::placement_ask& ask,
                             std::span<const detail::node_view> others);

  // -- being prepared ----------------------------------------------------------

  /// Task `id`'s preparation, or null if it is not being prepared.
  preparing_task* preparing(uint64_t id);

  /// Task `id`'s preparation, made if there is none.
  preparing_task& prepare(uint64_t id);

  /// Ends task `id`'s preparation: taken out (to be placed); none if it
  /// has none.
  std::optional<preparing_task> take_prepared(uint64_t id);

private:
  /// Placed tasks and rebuilds, by result id.
  std::unordered_map<uint64_t, placed_task> placed_;
  /// Tasks waiting for a node with room, by demand.
  std::vector<waiting_group> waiting_;
  /// Tasks whose arguments are being fetched, by result id.
  std::unordered_map<uint64_t, preparing_task> preparing_;
  /// The node that took the last SPREAD task.
  uint16_t spread_last_ = 0;
  /// Placed tasks waiting for a verdict on the nodes lost under them.
  std::vector<uint64_t> undecided_;
};

} // namespace manta::actors
