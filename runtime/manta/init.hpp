#pragma once

#include "manta/resources.hpp"

#include <optional>
#include <string>

namespace manta {

/// Settings of the embedded node started by `init`.
struct init_options {
  /// CPUs the node offers to tasks; default: the hardware's core count.
  std::optional<double> num_cpus;
  /// Custom resources the node offers, e.g. {{"GPU", 2}}.
  resource_map resources;
  /// Threads of CAF's scheduler (which runs the runtime's actors, never user
  /// code); default: half the hardware cores, at least 1 and at most 4.
  std::optional<size_t> scheduler_threads;
};

/// Starts the embedded runtime. Throws `error` if it is already running.
void init(init_options opts = {});

/// Starts the runtime with options from the command line
/// (`--num-cpus=N`, `--resources=GPU:1,disk:2`), falling back to the
/// environment (`MANTA_NUM_CPUS`). Unknown `--manta-*` flags are errors;
/// other arguments are left for the program.
void init(int argc, char** argv);

/// Stops the runtime: queued tasks fail with `task_cancelled_error`, tasks
/// blocked in `get` are woken, and `init` may be called again.
void shutdown();

/// True between `init` and `shutdown`.
bool is_initialized() noexcept;

/// Resources not held by running tasks right now.
resource_map available_resources();

/// Resources of all nodes together.
resource_map cluster_resources();

} // namespace manta
