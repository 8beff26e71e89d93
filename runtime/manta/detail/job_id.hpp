#pragma once

#include <string>

namespace manta::detail {

/// The id of the job this process belongs to; empty when none.
std::string job_id();

} // namespace manta::detail
