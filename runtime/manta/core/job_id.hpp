#pragma once

#include <cstdint>
#include <string>

/// Job ids (docs/cluster.md, "Jobs"). Every driver of a cluster is a job:
/// the head hands out its id when the driver joins (or accepts the one
/// `manta job submit` registered first, MANTA_JOB_ID). Tasks and actors a
/// driver sends to workers carry the id, so every node can say which job
/// a task, an actor or a printed line belongs to. The jobs known are a part
/// of the runtime (known_jobs.hpp): with no runtime none is known, and
/// `job_of_node`, and `job_id` outside a `job_scope`, answer "".
namespace manta::detail {

/// The current job id: inside a task or actor call another node sent here,
/// the job of its owner; otherwise this process's own job (a driver's, set
/// when it joined the head, or MANTA_JOB_ID before it has); "" outside a
/// cluster, on a worker outside any job's work, and with no runtime. The
/// one place the runtime context API reads it.
std::string job_id();

/// This process's job (a driver, when the head answered its join).
void set_process_job(const std::string& job);

/// The job of the owner whose node index is `node`: a driver's own index,
/// or owners whose tasks and actors arrived here with a job id. Object
/// and actor ids carry their owner's node in their high 16 bits, so this
/// names the job of any task, call or actor this process knows.
void note_job(uint16_t node, const std::string& job);

/// The job `note_job` recorded for `node`, or "".
std::string job_of_node(uint16_t node);

/// While it lives, `job_id()` on this thread answers `job` (a hosted task
/// or call runs for its owner's job); restores the previous one after.
class job_scope {
public:
  explicit job_scope(std::string job);
  ~job_scope();
  job_scope(const job_scope&) = delete;
  job_scope& operator=(const job_scope&) = delete;

private:
  std::string previous_;
};

} // namespace manta::detail
