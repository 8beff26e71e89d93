#pragma once

#include "manta/object_id.hpp"

#include <string>
#include <vector>

namespace manta {

/// The lines a task or actor call (named by its result's id) wrote to
/// std::cout or std::cerr, oldest first, without the prefix the terminal
/// shows. The node keeps the lines of the most recent 10,000 tasks that
/// printed, at most 1,000 lines each. Empty when log capture is off
/// (`init_options::log_prefix`). C stdio (`printf`) is not captured.
std::vector<std::string> task_logs(object_id id);

} // namespace manta
