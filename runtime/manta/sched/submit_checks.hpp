#pragma once

#include "manta/resources.hpp"

#include <string>

namespace manta::detail {

/// Checks a task's or actor's resource demand at `.remote()`, as Ray does:
/// throws `invalid_argument_error` naming `who` for a negative or
/// non-finite amount, an empty resource name, a custom resource asked for
/// 0 (CPUs may be 0: a task that holds none), and a fraction above 1
/// (1.5 GPUs: amounts above 1 are whole).
void check_demand(const resource_demand& d, const std::string& who);

/// What `check_demand` throws about, after "<who>: "; empty if `d` is fine.
/// For a hot path that names `who` only when it throws (a task's submit).
std::string demand_problem(const resource_demand& d);

} // namespace manta::detail
