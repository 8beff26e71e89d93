#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace manta::detail {

/// The jobs this node knows (job_id.hpp): its own (a driver's, set when the
/// head answered its join) and that of each owner whose tasks and actors
/// arrived here, by the owner's node index. A part of the runtime
/// (`runtime::jobs()`), whose only users are the functions of job_id.cpp:
/// a second `init` joins with a new index and knows no job yet, and a line
/// written with no runtime (after `shutdown`) names no job.
struct known_jobs {
  /// Guards what follows.
  std::mutex mtx;
  /// This process's own job; "" before the head answered (or outside a cluster).
  std::string process_job;
  /// By node index (owners are few: the drivers that sent work here).
  std::unordered_map<uint16_t, std::string> by_node;
};

} // namespace manta::detail
