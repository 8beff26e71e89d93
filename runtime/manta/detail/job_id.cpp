#include "manta/detail/job_id.hpp"

#include <cstdlib>

namespace manta::detail {

std::string job_id() {
  // `manta job submit` starts the driver with its job's id in MANTA_JOB_ID.
  const char* id = std::getenv("MANTA_JOB_ID");
  return id != nullptr ? id : "";
}

} // namespace manta::detail
