#pragma once

#include "manta/detail/task_spec.hpp"
#include "manta/resources.hpp"

#include <caf/stateful_actor.hpp>

#include <deque>
#include <vector>

namespace manta::detail {
class executor;
}

namespace manta::actors {

/// Tasks that wait for the same resources, served first come first served.
struct lease_queue {
  detail::resource_demand demand;
  std::deque<detail::task_ptr> tasks;
};

struct node_manager_state {
  double total_cpus = 0;
  double free_cpus = 0;
  resource_map total_custom;
  resource_map free_custom;
  /// One queue per distinct demand: nearly all tasks ask for {CPU: 1}, so
  /// granting is O(1) per task instead of a scan over every waiting task.
  std::vector<lease_queue> queues;
  detail::executor* exec = nullptr;
  bool stopping = false;

  static inline const char* name = "manta.node_manager";
};

using node_manager_actor = caf::stateful_actor<node_manager_state>;

/// The node's resource broker. A task's actor asks it for a lease on the
/// task's resources; when they are free it hands the task to the executor,
/// and takes the resources back when the task is done. A task blocked in
/// `get` lends its CPUs back so nested tasks can run (no deadlock even with
/// one CPU). At most `num_cpus` CPUs' worth of tasks run at once otherwise.
caf::behavior node_manager(node_manager_actor* self, double num_cpus,
                           resource_map custom, detail::executor* exec);

} // namespace manta::actors
