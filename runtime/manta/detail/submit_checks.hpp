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

} // namespace manta::detail
