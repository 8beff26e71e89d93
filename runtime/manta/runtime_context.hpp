#pragma once

#include "manta/resources.hpp"
#include "manta/task_options.hpp"

#include <string>
#include <vector>

namespace manta {

/// Where and as what the calling code runs (Ray's runtime context): read
/// once by `get_runtime_context()`, a snapshot of that moment.
///
///     auto ctx = manta::get_runtime_context();
///     if (!ctx.get_gpu_ids().empty()) ...   // the GPUs this task holds
class runtime_context {
public:
  /// The job this process runs in (`manta job submit`'s id); empty for a
  /// program started by hand.
  const std::string& get_job_id() const noexcept { return job_id_; }

  /// The running task or actor call, as the id of its result object (16
  /// hex digits, as `manta list tasks` shows it); empty on a thread that
  /// runs no task (the driver's `main`).
  const std::string& get_task_id() const noexcept { return task_id_; }

  /// The actor whose constructor or method runs now (16 hex digits, the same
  /// on every node that runs it); empty outside actors.
  const std::string& get_actor_id() const noexcept { return actor_id_; }

  /// The node running the code: 0 for an embedded node, 1, 2, ... in a
  /// cluster (`current_node()`).
  node_id get_node_id() const noexcept { return node_id_; }

  /// The node's name, as logs and tools show it ("node-2 (pid 4242)").
  const std::string& get_node_name() const noexcept { return node_name_; }

  /// The job's namespace, where named actors are created and `get_actor`
  /// looks when given none: `init_options::ns` (`--namespace`), "default"
  /// unless set. On a worker node, running another job's task, the
  /// worker's own ("default").
  const std::string& get_namespace() const noexcept { return namespace_; }

  /// What the running task or actor holds ("CPU" and custom resources
  /// such as "GPU"); empty outside tasks and actors.
  const resource_map& get_assigned_resources() const noexcept { return resources_; }

  /// The GPUs (indices 0 .. the node's count - 1) leased to the running
  /// task or actor; `CUDA_VISIBLE_DEVICES` reads as these, comma
  /// separated, on its thread while it runs. Empty when it holds none.
  const std::vector<int>& get_gpu_ids() const noexcept { return gpu_ids_; }

  /// Whether the running actor replaces one that died (`was_restarted()`).
  bool was_current_actor_reconstructed() const noexcept { return restarted_; }

private:
  friend runtime_context get_runtime_context();

  std::string job_id_;
  std::string task_id_;
  std::string actor_id_;
  node_id node_id_ = 0;
  std::string node_name_;
  std::string namespace_;
  resource_map resources_;
  std::vector<int> gpu_ids_;
  bool restarted_ = false;
};

/// The calling code's runtime context. Throws `not_initialized_error`
/// before `init`.
runtime_context get_runtime_context();

} // namespace manta
