#include "manta/cluster/job_table.hpp"

#include "manta/observe/json.hpp"

#include <chrono>
#include <cstdio>

namespace manta::actors {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool ended(const std::string& state) {
  return state == "FINISHED" || state == "FAILED" || state == "STOPPED";
}

} // namespace

uint32_t job_number(const std::string& id) {
  constexpr std::string_view prefix = "job-";
  if (id.size() <= prefix.size() || id.size() > prefix.size() + 9 || id.rfind(prefix, 0) != 0
      || id.find_first_not_of("0123456789", prefix.size()) != std::string::npos)
    return 0;
  return static_cast<uint32_t>(std::stoul(id.substr(prefix.size())));
}

void job_table::recover(uint32_t next, const std::vector<detail::job_record>& jobs) {
  next_ = std::max(next_, next);
  for (auto& j : jobs)
    if (auto n = job_number(j.id); n != 0) {
      jobs_[n] = j;
      next_ = std::max(next_, n + 1);
    }
}

std::string job_table::make_id() {
  char id[24];
  std::snprintf(id, sizeof id, "job-%04u", next_++);
  return id;
}

void job_table::changed(const detail::job_record& j) {
  if (persist_)
    persist_(j, next_);
}

void job_table::trim() {
  size_t n_ended = 0;
  for (auto& [_, j] : jobs_)
    n_ended += ended(j.state) ? 1 : 0;
  for (auto i = jobs_.begin(); n_ended > max_ended && i != jobs_.end();) {
    if (!ended(i->second.state)) {
      ++i;
      continue;
    }
    i = jobs_.erase(i);
    --n_ended;
  }
}

std::string job_table::submit(const std::string& entrypoint, const std::string& host) {
  detail::job_record j;
  j.id = make_id();
  j.entrypoint = entrypoint;
  j.host = host;
  j.start_ms = now_ms();
  jobs_[job_number(j.id)] = j;
  changed(j);
  return j.id;
}

std::string job_table::admit(const detail::wire::node_record& rec, std::string& note) {
  auto n = job_number(rec.job_id);
  auto i = n == 0 ? jobs_.end() : jobs_.find(n);
  if (i != jobs_.end()) {
    auto& j = i->second;
    // Another live driver holds it: a second process started with the
    // same MANTA_JOB_ID is a job of its own.
    bool other = j.state == "RUNNING" && j.node != 0 && j.node != rec.index;
    // A job that ended stays ended, unless its own driver comes back (it
    // was cut off, not dead: it joins again with its old index).
    bool over = ended(j.state) && !(j.node == rec.index && j.pid == rec.pid);
    if (!other && !over) {
      j.host = rec.host;
      j.pid = rec.pid;
      j.node = rec.index;
      j.state = "RUNNING";
      j.detail.clear();
      j.end_ms = 0;
      if (j.start_ms == 0)
        j.start_ms = now_ms();
      changed(j);
      return j.id;
    }
    note = "job " + rec.job_id
           + (other ? " is held by the driver on node-" + std::to_string(j.node)
                    : " has ended (" + j.state + ")")
           + "; this driver is a job of its own";
  } else if (!rec.job_id.empty()) {
    note = "the head knows no job " + rec.job_id
           + " (submitted to another head?); this "
             "driver is a job of its own";
  }
  detail::job_record j;
  j.id = make_id();
  j.host = rec.host;
  j.pid = rec.pid;
  j.node = rec.index;
  j.state = "RUNNING";
  j.start_ms = now_ms();
  jobs_[job_number(j.id)] = j;
  changed(j);
  trim();
  return j.id;
}

void job_table::driver_left(uint16_t index) {
  for (auto& [_, j] : jobs_)
    if (j.node == index && j.state == "RUNNING") {
      j.state = "FAILED";
      j.detail = "the driver left without shutting down (killed, crashed, or cut off: it is "
                 "RUNNING again if it joins the head again)";
      j.end_ms = now_ms();
      changed(j);
    }
}

bool job_table::end(const std::string& id, const std::string& state, const std::string& detail) {
  auto i = jobs_.find(job_number(id));
  if (i == jobs_.end())
    return false;
  auto& j = i->second;
  if (state == "RUNNING") {
    // The supervisor started the program: RUNNING even if it never joins
    // (a driver that joins says so itself, with its node and pid).
    if (j.state != "PENDING")
      return true;
    j.state = state;
  } else if (ended(state)) {
    j.state = state;
    j.detail = detail;
    if (j.end_ms == 0)
      j.end_ms = now_ms();
  } else {
    return false;
  }
  changed(j);
  trim();
  return true;
}

std::vector<detail::job_record> job_table::all() const {
  std::vector<detail::job_record> out;
  for (auto& [_, j] : jobs_)
    out.push_back(j);
  return out;
}

std::string job_table::to_json() const {
  using detail::json::text;
  boost::json::array out;
  for (auto& [_, j] : jobs_)
    out.push_back(
      boost::json::object{{"job_id", text(j.id)},
                          {"state", text(j.state)},
                          {"entrypoint", text(j.entrypoint)},
                          {"host", text(j.host)},
                          {"pid", j.pid},
                          {"node", j.node == 0 ? std::string{} : "node-" + std::to_string(j.node)},
                          {"detail", text(j.detail)},
                          {"start_ms", j.start_ms},
                          {"end_ms", j.end_ms}});
  return boost::json::serialize(out);
}

} // namespace manta::actors
