#pragma once

#include "manta/simulation.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace manta::detail {

/// Parses a virtual duration: "250us", "10ms", "1.5s", "40ns" (a bare
/// number is nanoseconds). `where` names it in errors.
std::chrono::nanoseconds parse_sim_duration(std::string_view where, std::string_view text);

/// The simulation the command line asks for: `--simulate` (or any `--sim-*`
/// flag) with `--seed=N`, `--sim-nodes=N`, `--sim-cpus=N`, `--sim-kills=N`,
/// `--sim-kill-window=D`, `--sim-partitions=N`, `--sim-slowdowns=N`,
/// `--sim-fault-window=D`, `--sim-bandwidth=B`, `--sim-cost=MODEL`,
/// `--sim-trace=FILE`, `--sim-schedule=FILE`;
/// nullopt without them (`--seed` alone is the program's own).
std::optional<simulation_options> parse_sim_flags(int argc, char** argv);

/// Reads a schedule file (JSON; docs/simulation.md) into `opts`; errors name
/// the file and the key.
void read_sim_schedule(const std::string& path, simulation_options& opts);

} // namespace manta::detail
