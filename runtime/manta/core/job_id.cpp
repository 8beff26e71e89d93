#include "manta/core/job_id.hpp"

#include "manta/core/known_jobs.hpp"
#include "manta/core/runtime.hpp"

#include <cstdlib>
#include <mutex>
#include <utility>

namespace manta::detail {

namespace {

/// The job the hosted task or call on this thread runs for (job_scope):
/// context of the thread, not a registry, so it stays thread-local.
thread_local std::string t_job;

} // namespace

std::string job_id() {
  if (!t_job.empty())
    return t_job;
  auto* rt = runtime::live();
  if (rt == nullptr)
    return {}; // no runtime, no job (a line written after shutdown)
  {
    auto& jobs = rt->jobs();
    std::lock_guard<std::mutex> guard{jobs.mtx};
    if (!jobs.process_job.empty())
      return jobs.process_job;
  }
  // Before (or without) a join: `manta job submit` starts the driver with
  // its job's id in MANTA_JOB_ID.
  const char* id = std::getenv("MANTA_JOB_ID");
  return id != nullptr ? id : "";
}

void set_process_job(const std::string& job) {
  auto* rt = runtime::live();
  if (rt == nullptr)
    return;
  auto& jobs = rt->jobs();
  std::lock_guard<std::mutex> guard{jobs.mtx};
  jobs.process_job = job;
}

void note_job(uint16_t node, const std::string& job) {
  auto* rt = runtime::live();
  if (node == 0 || job.empty() || rt == nullptr)
    return;
  auto& jobs = rt->jobs();
  std::lock_guard<std::mutex> guard{jobs.mtx};
  jobs.by_node[node] = job;
}

std::string job_of_node(uint16_t node) {
  auto* rt = runtime::live();
  if (node == 0 || rt == nullptr)
    return {};
  auto& jobs = rt->jobs();
  std::lock_guard<std::mutex> guard{jobs.mtx};
  auto i = jobs.by_node.find(node);
  return i == jobs.by_node.end() ? std::string{} : i->second;
}

job_scope::job_scope(std::string job) : previous_(std::exchange(t_job, std::move(job))) {}

job_scope::~job_scope() {
  t_job = std::move(previous_);
}

} // namespace manta::detail
