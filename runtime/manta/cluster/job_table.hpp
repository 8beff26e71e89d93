#pragma once

#include "manta/cluster/head_store.hpp"
#include "manta/net/wire.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace manta::actors {

/// The head's table of jobs (docs/cluster.md, "Jobs"). Every driver is a
/// job: when one joins, the head hands it the next id ("job-0001", ...;
/// the counter is kept in the head store when there is one, so a head that
/// replaced a killed one never hands out an id again), or accepts the id
/// `manta job submit` registered first (`submit`, passed to the driver as
/// MANTA_JOB_ID), or the id a driver that joins again already had. The
/// table says where each job's driver runs and how the job ended: the
/// supervisor of a submitted job reports the exit (`end`), a driver that
/// shuts down reports FINISHED, and a driver whose connection closes
/// without either is FAILED ("the driver left without shutting down").
class job_table {
public:
  /// Jobs that ended, kept for `manta job list` (the oldest go first).
  static constexpr size_t max_ended = 1000;

  /// Called with every record that changes (to write it to the store).
  using persist_fn = std::function<void(const detail::job_record&, uint32_t next)>;

  explicit job_table(persist_fn persist = {}) : persist_(std::move(persist)) {}

  /// The state a head store kept (a replaced head).
  void recover(uint32_t next, const std::vector<detail::job_record>& jobs);

  /// A job registered before its driver runs (PENDING); returns its id.
  std::string submit(const std::string& entrypoint, const std::string& host);

  /// Driver `rec` (index assigned) joins: returns the id it is now. The id
  /// it asks for (rec.job_id) is kept if the head knows it and no other
  /// live driver holds it; anything else gets a new id (and `note` says
  /// why, for the log).
  std::string admit(const detail::wire::node_record& rec, std::string& note);

  /// The driver of node `index` left; a job still RUNNING is FAILED.
  void driver_left(uint16_t index);

  /// What the supervisor of job `id` says: RUNNING (it started the
  /// program; a PENDING job is RUNNING then), or how the job ended
  /// (FINISHED, FAILED or STOPPED, with `detail`). False if the job is
  /// unknown or `state` is none of those.
  bool end(const std::string& id, const std::string& state, const std::string& detail);

  /// Every job as a JSON array (oldest id first), for `manta job list`.
  std::string to_json() const;

  uint32_t next() const noexcept { return next_; }
  std::vector<detail::job_record> all() const;

private:
  std::string make_id();
  void changed(const detail::job_record& j);
  void trim();

  /// By number (the id's digits), so the order is the order of submission.
  std::map<uint32_t, detail::job_record> jobs_;
  uint32_t next_ = 1;
  persist_fn persist_;
};

/// "job-0042" -> 42; 0 if `id` is not a job id the head makes.
uint32_t job_number(const std::string& id);

} // namespace manta::actors
