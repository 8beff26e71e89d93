#pragma once

#include "manta/simulation.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace manta::detail {

/// Parses a virtual duration: "250us", "10ms", "1.5s", "40ns" (a bare
/// number is nanoseconds). `where` names it in errors.
std::chrono::nanoseconds parse_sim_duration(std::string_view where, std::string_view text);

/// The simulation's option values (its rows of init_flags.cpp, the schedule
/// file); `where` names the option in errors ("manta sim: --sim-nodes: ...").
uint64_t parse_sim_count(std::string_view where, std::string_view text, uint64_t min, uint64_t max);
/// A cost model: zero, declared or measured.
sim_cost parse_sim_cost(std::string_view where, std::string_view text);
/// Bytes per second, >= 0 (0: unlimited).
double parse_sim_rate(std::string_view where, std::string_view text);
/// Virtual nodes' custom resources: "NODE=NAME:N,...;NODE=..." (e.g.
/// "1=GPU:1;2=disk:2,GPU:1"), each node's list as `--resources` takes it.
std::map<uint32_t, resource_map> parse_sim_resources(std::string_view where, std::string_view text);

/// Reads a schedule file (JSON; docs/simulation.md) into `opts`; errors name
/// the file and the key.
void read_sim_schedule(const std::string& path, simulation_options& opts);

} // namespace manta::detail
