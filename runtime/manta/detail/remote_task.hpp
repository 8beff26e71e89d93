#pragma once

#include "manta/detail/function_registry.hpp"
#include "manta/detail/task_spec.hpp"
#include "manta/detail/wire.hpp"

#include <memory>

namespace manta::detail {

class log_shipper;

/// A task another node sent here (its TaskSpec decoded): runs the function
/// found by name from the encoded arguments and seals the encoded result
/// (a `std::vector<char>`) into `result`. It runs in this node's worker
/// pool under its resource demand, like a local task.
class remote_task final : public task_spec {
public:
  remote_task(const function_info& fn, wire::task_message msg);

  std::exception_ptr run() noexcept override;

  const wire::task_message& message() const noexcept { return msg_; }

  /// Takes the lines the task prints to its owner (set by the node manager
  /// before the task is scheduled; null: they stay here).
  std::shared_ptr<log_shipper> log_sink;

private:
  const function_info& fn_;
  wire::task_message msg_;
};

/// Options of a task as its TaskSpec gives them.
task_options options_of(const wire::task_message& msg);

} // namespace manta::detail
