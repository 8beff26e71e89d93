#include "manta/core/job_id.hpp"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace manta::detail {

namespace {

std::mutex g_mtx;
std::string g_process_job;
/// By node index (owners are few: the drivers that sent work here).
std::unordered_map<uint16_t, std::string>& by_node() {
  static auto* table = new std::unordered_map<uint16_t, std::string>{};
  return *table;
}

thread_local std::string t_job;

} // namespace

std::string job_id() {
  if (!t_job.empty())
    return t_job;
  {
    std::lock_guard<std::mutex> guard{g_mtx};
    if (!g_process_job.empty())
      return g_process_job;
  }
  // Before (or without) a join: `manta job submit` starts the driver with
  // its job's id in MANTA_JOB_ID.
  const char* id = std::getenv("MANTA_JOB_ID");
  return id != nullptr ? id : "";
}

void set_process_job(const std::string& job) {
  std::lock_guard<std::mutex> guard{g_mtx};
  g_process_job = job;
}

void note_job(uint16_t node, const std::string& job) {
  if (node == 0 || job.empty())
    return;
  std::lock_guard<std::mutex> guard{g_mtx};
  by_node()[node] = job;
}

std::string job_of_node(uint16_t node) {
  if (node == 0)
    return {};
  std::lock_guard<std::mutex> guard{g_mtx};
  auto i = by_node().find(node);
  return i == by_node().end() ? std::string{} : i->second;
}

job_scope::job_scope(std::string job) : previous_(std::exchange(t_job, std::move(job))) {}

job_scope::~job_scope() {
  t_job = std::move(previous_);
}

} // namespace manta::detail
