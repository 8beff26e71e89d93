#pragma once

#include "manta/resources.hpp"

#include <string>

namespace manta {

/// Options of one task submission, set by chaining on `task(f)`.
struct task_options {
  /// Name shown in errors and tools; defaults to the registered function name.
  std::string name;
  /// Resources the task holds while it runs.
  detail::resource_demand resources;
  /// How often a failed task is re-run. Failures of the task's own code count
  /// only with `retry_exceptions`; otherwise retries cover system failures
  /// (a lost worker or node), as in Ray.
  int max_retries = 3;
  /// Whether an exception thrown by the task's code triggers a retry.
  bool retry_exceptions = false;
};

} // namespace manta
