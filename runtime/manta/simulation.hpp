#pragma once

#include "manta/init.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace manta {

/// One fault of a simulation's schedule, applied at virtual time `at`.
struct sim_fault {
  /// What happens to the node (or nodes) named below.
  enum class kind {
    kill,      ///< node `node` dies: its runs are lost, its actors die
    revive,    ///< node `node` comes back, empty
    partition, ///< nodes `group` are cut off from all the others
    heal,      ///< every partition ends
    slow,      ///< node `node` runs tasks `factor` times slower
  };
  std::chrono::nanoseconds at{0}; ///< Virtual time since the simulation's start.
  kind what = kind::kill; ///< What happens.
  uint32_t node = 0; ///< The node killed, revived or slowed.
  std::vector<uint32_t> group; ///< The nodes a partition cuts off.
  double factor = 1.0; ///< How many times slower a slowed node runs.
};

/// How a task's (or an actor call's) virtual run time is found: per
/// function with `sim::set_cost` / `sim::set_duration`, else the
/// simulation's `cost` (docs/simulation.md).
enum class sim_cost {
  zero,     ///< no virtual time, whatever duration is declared
  declared, ///< the function's `set_duration`, else `task_duration` (`call_duration`)
  /// The CPU time its code took on the simulation's thread (the thread CPU
  /// clock, around each of its slices on its fiber), rounded to the nearest
  /// `cpu_quantum`. It differs from run to run, so a run that measures may
  /// not replay: the summary counts such runs (`measured=`).
  measured,
};

/// Settings of a simulated cluster (`init(init_options, simulation_options)`,
/// flags `--simulate`, `--seed=N`, `--sim-nodes=N`, `--sim-schedule=FILE`;
/// docs/simulation.md). Node 0 is the driver's node; the others are workers.
struct simulation_options {
  uint64_t seed = 1; ///< Seeds every random stream: the same seed, the same run.
  uint32_t nodes = 4; ///< Virtual nodes, the driver's node 0 among them.
  double cpus_per_node = 2; ///< CPUs of each virtual node.
  /// Custom resources of virtual nodes, by node index (e.g.
  /// `{{1, {{"GPU", 1}}}, {2, {{"disk", 2}}}}`); a node not listed has none.
  /// A task or actor asking for them is placed only on a node that has them,
  /// and placement groups reserve them, as on a cluster. CPUs are
  /// `cpus_per_node` ("CPU" is refused here).
  std::map<uint32_t, resource_map> node_resources;
  /// One-way message delay: `latency` plus an exponential jitter of mean
  /// `jitter`, drawn per message (and per object crossing) from the
  /// "network" stream.
  std::chrono::nanoseconds latency = std::chrono::microseconds{200};
  std::chrono::nanoseconds jitter = std::chrono::microseconds{100}; ///< See `latency`.
  /// Chance that a message between nodes (a task's spec, an actor job, an
  /// object or result crossing) is lost: it is sent again after
  /// `resend_after`.
  double loss = 0.0;
  std::chrono::nanoseconds resend_after = std::chrono::milliseconds{50}; ///< See `loss`.
  /// How long after a node's death the cluster notices it (heartbeats):
  /// then its lost tasks are retried and its actors restarted.
  std::chrono::nanoseconds detect_after = std::chrono::milliseconds{100};
  /// A task's virtual run time when none is set for its function
  /// (`sim::set_duration`).
  std::chrono::nanoseconds task_duration{0};
  /// An actor call's virtual run time when none is set for its method
  /// (`sim::set_duration("Class.method", d)`).
  std::chrono::nanoseconds call_duration{0};
  /// The cost model of functions and methods that have none of their own.
  sim_cost cost = sim_cost::declared;
  /// Measured CPU times are rounded to the nearest multiple of this.
  std::chrono::nanoseconds cpu_quantum = std::chrono::milliseconds{1};
  /// Bytes per second a result (or an object argument) crosses between
  /// two nodes at, after `latency`; 0: unlimited (only the latency).
  double bandwidth = 0;
  /// The fault schedule, in code.
  std::vector<sim_fault> faults;
  /// Kills drawn from the seed ("faults" stream): `random_kills` nodes
  /// other than 0, each at a time in [0, `kill_window`).
  uint32_t random_kills = 0;
  std::chrono::nanoseconds kill_window = std::chrono::seconds{1}; ///< See `random_kills`.
  /// Partitions drawn from the seed ("partitions" stream): partition i
  /// starts at a time in the i-th of `random_partitions` equal slices of
  /// [0, `fault_window`), cuts off a random group of 1 to nodes/2 nodes
  /// (never node 0) and is healed `partition_length` later (a heal ends
  /// every partition).
  uint32_t random_partitions = 0;
  /// See `random_partitions`.
  std::chrono::nanoseconds partition_length = std::chrono::milliseconds{100};
  /// Slow spells drawn from the seed ("slowdowns" stream): a random node
  /// other than 0 runs `slow_factor` times slower from a time in
  /// [0, `fault_window`) for `slow_length`.
  uint32_t random_slowdowns = 0;
  double slow_factor = 4; ///< See `random_slowdowns`.
  /// See `random_slowdowns`.
  std::chrono::nanoseconds slow_length = std::chrono::milliseconds{200};
  /// Where random partitions and slow spells fall (kills: `kill_window`).
  std::chrono::nanoseconds fault_window = std::chrono::seconds{1};
  /// A JSON file with any of the settings above and a fault list, read at
  /// init (its values override those given in code).
  std::string schedule_file;
  /// Writes every event of the trace to this file, one line each (virtual
  /// ns, kind, node, id): two runs' files show where they part.
  std::string trace_file;
  /// Print the summary line (seed, events, times, trace hash) at shutdown.
  bool print_summary = true;
};

/// Starts the runtime as a simulated cluster: one process, one thread of
/// execution, virtual time (docs/simulation.md says what is simulated).
void init(init_options opts, simulation_options sim);

/// Blocks for `d`: virtual time in a simulation (other work runs
/// meanwhile), real time otherwise. `std::this_thread::sleep_for` is never
/// virtual: in a simulation it stops the whole cluster for real.
void sleep(std::chrono::nanoseconds d);

/// The time now: the virtual clock in a simulation (its epoch is the
/// simulation's start), the steady clock otherwise.
std::chrono::steady_clock::time_point now();

namespace sim {

/// What a simulation did; `summary()` gives the running one's or, after
/// shutdown, the last one's.
struct run_summary {
  uint64_t seed = 0; ///< The run's seed.
  uint32_t nodes = 0; ///< Its virtual nodes.
  uint64_t events = 0; ///< Events it ran.
  uint64_t trace_hash = 0; ///< The hash of its event trace (equal runs, equal hashes).
  std::chrono::nanoseconds virtual_time{0}; ///< Virtual time it covered.
  double real_seconds = 0; ///< Wall-clock time it took.
  /// Work handed in by threads outside the simulation (placement groups,
  /// CAF timers...): nonzero means the run may not be reproducible.
  uint64_t external_events = 0;
  uint64_t tasks_lost = 0; ///< Runs lost with a killed node.
  uint64_t actors_killed = 0; ///< Actors killed with their node.
  /// Runs whose virtual time was their measured CPU time (sim_cost::measured):
  /// nonzero means the run may not replay.
  uint64_t measured_runs = 0;
};

/// Whether the runtime runs as a simulation.
bool active() noexcept;

/// See run_summary.
run_summary summary();

/// The summary as the line printed at shutdown.
std::string to_string(const run_summary& s);

/// The virtual run time of each task of `function` (its registered name or
/// its `.name(...)`; "Class.method" for an actor's calls) from now on
/// (sim_cost::declared for it).
void set_duration(const std::string& function, std::chrono::nanoseconds d);

/// The cost model of `function`'s tasks (or "Class.method"'s calls) from
/// now on. A function of the arguments: `set_cost(name, [](long n) {...})`
/// (sim_cost.hpp).
void set_cost(const std::string& function, sim_cost model);

/// A fault added while the simulation runs (its time must not be past).
void schedule(const sim_fault& f);

/// The virtual node the calling task runs on (0: the driver).
uint32_t current_node() noexcept;

} // namespace sim

} // namespace manta
