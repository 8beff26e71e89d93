// `manta job ...`: the job ids and the job table are the head's
// (cluster/job_table.hpp): `submit` registers the job there first and runs
// the driver with MANTA_JOB_ID under a small supervisor process, which
// records its life in <runtime folder>/jobs/<id>/job.json and its output
// in .../output.log, and tells the head when it runs and how it ended.
// `list` and `status` ask the head (any machine that reaches it); `logs`
// and `stop` act on the machine the job was submitted from.
#include "tools/job_commands.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/core/runtime_dir.hpp"
#include "tools/command_help.hpp"
#include "tools/command_line.hpp"
#include "tools/head_client.hpp"

#include <caf/all.hpp>

#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace manta::tools {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* hint = "see `manta help`";

int fail(const std::string& what) {
  std::fprintf(stderr, "manta job: %s\n", what.c_str());
  return 2;
}

std::string now_text() {
  auto t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

/// The folder of all jobs (made private if missing), or "" after printing why.
std::string jobs_dir() {
  auto root = detail::runtime_dir();
  if (auto err = detail::make_private_dir(root); !err.empty()) {
    std::fprintf(stderr, "manta job: %s\n", err.c_str());
    return {};
  }
  auto dir = root + "/jobs";
  if (auto err = detail::make_private_dir(dir); !err.empty()) {
    std::fprintf(stderr, "manta job: %s\n", err.c_str());
    return {};
  }
  return dir;
}

/// Writes a job's record whole (a rename: readers never see half of it).
void write_record(const std::string& dir, const json::object& rec) {
  auto tmp = dir + "/job.json.tmp";
  std::ofstream{tmp} << json::serialize(rec) << "\n";
  fs::rename(tmp, dir + "/job.json");
}

std::optional<json::object> read_record(const std::string& dir) {
  std::ifstream in{dir + "/job.json"};
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(text.str(), ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return v.as_object();
}

std::string field(const json::object& rec, const char* key) {
  auto* v = rec.if_contains(key);
  if (v == nullptr)
    return "-";
  if (v->is_string())
    return std::string{v->as_string()};
  return json::serialize(*v);
}

/// Where `manta job` finds the head, and with what.
struct head_args {
  std::string address; ///< "" : MANTA_ADDRESS, else auto
  std::string token = env_token();
  tls_options tls = env_tls();

  /// Takes the head's flags of `args`; returns the exit code of bad usage
  /// after printing why, or 0.
  int take(const command_args& args) {
    address = args.value("address", address);
    return take_head_flags("manta job", args, token, tls);
  }

  std::string where() const {
    if (!address.empty())
      return address;
    auto* env = std::getenv("MANTA_ADDRESS");
    return env != nullptr && *env != '\0' ? env : "auto";
  }
};

/// Asks the head (one request, 5 s at most): `on_answer` gets the answer,
/// or `rc` is set after printing why there is none.
template <class F, class... Ts>
void ask_head(head_connection& conn, int& rc, F on_answer, Ts&&... xs) {
  caf::scoped_actor self{*conn.sys};
  self->request(conn.head, std::chrono::seconds(5), std::forward<Ts>(xs)...)
    .receive(on_answer, [&](caf::error& err) {
      std::fprintf(stderr, "manta job: the head at %s: %s\n", conn.address.c_str(),
                   caf::to_string(err).c_str());
      rc = 1;
    });
}

/// Tells the head that job `id` runs or ended (`state`); a head that cannot
/// be reached is said in the job's log, the local record stays right.
void report(const head_args& h, const std::string& id, const std::string& state,
            const std::string& detail) {
  int rc = 0;
  auto conn = connect_head("manta job", h.address, h.token, h.tls, rc);
  if (conn)
    ask_head(
      *conn, rc, [](bool) {}, actors::job_end_atom::value, conn->token, id, state, detail);
  if (rc != 0)
    std::fprintf(stderr, "manta job: the head was not told that %s is %s\n", id.c_str(),
                 state.c_str());
}

/// The supervisor (a child of `manta job submit`, in a session of its
/// own): runs the driver with its output in the log, records its end,
/// and tells the head both.
[[noreturn]] void supervise(const std::string& dir, json::object rec,
                            const std::vector<std::string>& args, const head_args& head) {
  auto id = std::string{rec.at("job_id").as_string()};
  ::setsid();
  int log = ::open((dir + "/output.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  // Detached from the terminal or pipe of `manta job submit`, which
  // returns at once (a reader of its output sees the end then).
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::dup2(null, 0);
  ::dup2(log, 1);
  ::dup2(log, 2);
  pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0); // `stop` signals the driver and what it started
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "manta job: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  rec["pid"] = child;
  rec["supervisor_pid"] = ::getpid();
  rec["state"] = child > 0 ? "RUNNING" : "FAILED";
  write_record(dir, rec);
  // After the fork: no CAF threads may exist in a process that forks.
  if (child > 0)
    report(head, id, "RUNNING", "");
  int status = 0;
  while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  rec["end_time"] = now_text();
  bool stopped = fs::exists(dir + "/stop");
  std::string detail;
  if (child <= 0) {
    detail = std::string{"fork: "} + std::strerror(errno);
  } else if (WIFEXITED(status)) {
    rec["exit_code"] = WEXITSTATUS(status);
    rec["state"] = stopped ? "STOPPED" : WEXITSTATUS(status) == 0 ? "FINISHED" : "FAILED";
    detail = "exit code " + std::to_string(WEXITSTATUS(status));
  } else {
    rec["signal"] = WTERMSIG(status);
    rec["state"] = stopped ? "STOPPED" : "FAILED";
    detail = "signal " + std::to_string(WTERMSIG(status));
  }
  write_record(dir, rec);
  report(head, id, std::string{rec.at("state").as_string()},
         stopped ? "stopped with manta job stop (" + detail + ")" : detail);
  std::fflush(nullptr);
  ::_exit(0);
}

/// The folder of a new job `id`: a folder of that name left by a job of an
/// earlier cluster (a head without a store counts from 1 again) is moved
/// aside to `<id>.before-<seconds since the epoch>`. "" after printing why.
std::string make_job_dir(const std::string& root, const std::string& id) {
  auto dir = root + "/" + id;
  if (::mkdir(dir.c_str(), 0700) == 0)
    return dir;
  if (errno == EEXIST) {
    auto aside = dir + ".before-" + std::to_string(std::time(nullptr));
    std::error_code ec;
    fs::rename(dir, aside, ec);
    if (!ec && ::mkdir(dir.c_str(), 0700) == 0) {
      std::fprintf(stderr, "manta job: %s of an earlier cluster was moved to %s\n", id.c_str(),
                   aside.c_str());
      return dir;
    }
  }
  std::fprintf(stderr, "manta job: cannot make the job folder %s: %s\n", dir.c_str(),
               std::strerror(errno));
  return {};
}

int submit(const command_args& given) {
  head_args head;
  int rc = head.take(given);
  if (rc != 0)
    return rc;
  if (!given.arguments.empty() || given.program.empty())
    return fail("submit needs the driver to run after `--`: manta job submit -- ./app ARGS");
  auto& args = given.program;
  auto root = jobs_dir();
  if (root.empty())
    return 2;
  std::string entry;
  for (auto& a : args)
    entry += (entry.empty() ? "" : " ") + a;
  // The id is the head's: registered there before the driver runs, and
  // accepted when the driver joins with it (MANTA_JOB_ID).
  std::string id;
  {
    auto conn = connect_head("manta job submit", head.where(), head.token, head.tls, rc);
    if (!conn)
      return rc;
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    ask_head(
      *conn, rc, [&](const std::string& answer) { id = answer; }, actors::job_new_atom::value,
      conn->token, entry, std::string{host});
    if (id.empty())
      return rc != 0 ? rc : fail("the head at " + conn->address + " gave no job id");
    head.address = conn->address; // the driver and the supervisor go there
    head.token = conn->token;
  } // the connection's threads end here, before the fork
  await_detached_threads_gone();
  auto dir = make_job_dir(root, id);
  if (dir.empty())
    return 2;
  ::setenv("MANTA_ADDRESS", head.address.c_str(), 1);
  ::setenv("MANTA_JOB_ID", id.c_str(), 1);
  if (std::getenv("MANTA_TOKEN") == nullptr) // a --token-file given to submit
    ::setenv("MANTA_TOKEN", head.token.c_str(), 1);
  json::object rec;
  rec["job_id"] = id;
  rec["entrypoint"] = entry;
  rec["address"] = head.address;
  rec["start_time"] = now_text();
  rec["state"] = "PENDING";
  write_record(dir, rec);
  std::fflush(nullptr);
  pid_t sup = ::fork();
  if (sup < 0)
    return fail(std::string{"fork: "} + std::strerror(errno));
  if (sup == 0)
    supervise(dir, rec, args, head);
  // Returns once the driver started (its pid is recorded), not when it ends.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       std::chrono::steady_clock::now() < until;) {
    if (auto r = read_record(dir); r && field(*r, "state") != "PENDING")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::printf("%s\n", id.c_str());
  return 0;
}

/// The folder of job `id`, or "" after printing why.
std::string job_dir(const std::string& id) {
  auto root = jobs_dir();
  if (root.empty())
    return {};
  if (id.find('/') != std::string::npos || !fs::exists(root + "/" + id + "/job.json")) {
    std::fprintf(stderr,
                 "manta job: no job '%s' was submitted from this machine (%s); `logs` "
                 "and `stop` run where `manta job submit` ran, and `manta job list` "
                 "shows the cluster's jobs with their host\n",
                 id.c_str(), root.c_str());
    return {};
  }
  return root + "/" + id;
}

std::string ms_text(int64_t ms) {
  if (ms <= 0)
    return "-";
  auto t = static_cast<std::time_t>(ms / 1000);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

/// The head's job table (JSON array of job_table::to_json), or nothing
/// after printing why.
std::optional<json::array> head_jobs(const head_args& head, int& rc) {
  auto conn = connect_head("manta job", head.where(), head.token, head.tls, rc);
  if (!conn)
    return std::nullopt;
  std::optional<json::array> out;
  ask_head(
    *conn, rc,
    [&](const std::string& text) {
      boost::system::error_code ec;
      auto v = json::parse(text, ec);
      if (!ec && v.is_array())
        out = v.as_array();
    },
    actors::jobs_atom::value, conn->token);
  if (!out && rc == 0) {
    std::fprintf(stderr, "manta job: the head's job table does not parse\n");
    rc = 1;
  }
  return out;
}

/// The head's record of a job, with what this machine's record adds (the
/// exit code or signal, the supervisor) when the job was submitted here.
json::object merged(const json::object& at_head) {
  json::object out;
  auto id = std::string{at_head.at("job_id").as_string()};
  if (auto root = detail::runtime_dir() + "/jobs/" + id; fs::exists(root + "/job.json"))
    if (auto local = read_record(root))
      out = *local;
  for (auto& [k, v] : at_head)
    if (!(k == "pid" && v.to_number<int64_t>() == 0 && out.contains("pid")))
      out[k] = v;
  out["start_time"] = ms_text(at_head.at("start_ms").to_number<int64_t>());
  if (auto end = at_head.at("end_ms").to_number<int64_t>(); end > 0)
    out["end_time"] = ms_text(end);
  return out;
}

int list(const head_args& head) {
  int rc = 0;
  auto jobs = head_jobs(head, rc);
  if (!jobs)
    return rc;
  std::printf("%-10s %-9s %-8s %-16s %-21s %-21s %s\n", "JOB_ID", "STATE", "PID", "HOST", "START",
              "END", "ENTRYPOINT");
  for (auto& v : *jobs) {
    auto r = merged(v.as_object());
    std::printf("%-10s %-9s %-8s %-16s %-21s %-21s %s\n", field(r, "job_id").c_str(),
                field(r, "state").c_str(), field(r, "pid").c_str(), field(r, "host").c_str(),
                field(r, "start_time").c_str(), field(r, "end_time").c_str(),
                field(r, "entrypoint").c_str());
  }
  return 0;
}

int status(const std::string& id, const head_args& head) {
  int rc = 0;
  auto jobs = head_jobs(head, rc);
  if (!jobs)
    return rc;
  for (auto& v : *jobs)
    if (v.as_object().at("job_id").as_string() == id) {
      std::printf("%s\n", json::serialize(merged(v.as_object())).c_str());
      return 0;
    }
  return fail("no job '" + id + "' is known to the head at " + head.where()
              + "; `manta job list` shows the jobs");
}

int logs(const std::string& id) {
  auto dir = job_dir(id);
  if (dir.empty())
    return 2;
  std::ifstream in{dir + "/output.log"};
  std::cout << in.rdbuf();
  return 0;
}

int stop(const std::string& id) {
  auto dir = job_dir(id);
  if (dir.empty())
    return 2;
  auto r = read_record(dir);
  if (!r || field(*r, "state") != "RUNNING") {
    std::printf("%s is not running (%s)\n", id.c_str(), r ? field(*r, "state").c_str() : "?");
    return 0;
  }
  auto pid = static_cast<pid_t>(r->at("pid").to_number<int64_t>());
  std::ofstream{dir + "/stop"} << "stop\n";
  // SIGTERM first (a driver may shut down cleanly), SIGKILL after 5 s.
  ::kill(-pid, SIGTERM);
  for (int round = 0; round < 2; ++round) {
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
         std::chrono::steady_clock::now() < until;) {
      if (auto now = read_record(dir); now && field(*now, "state") != "RUNNING") {
        std::printf("%s %s\n", id.c_str(), field(*now, "state").c_str());
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pid, SIGKILL);
  }
  return fail(id + " (pid " + std::to_string(pid) + ") did not end after SIGKILL");
}

} // namespace

int job_main(int argc, char** argv) {
  if (argc < 2)
    return fail(std::string{"which verb? submit, list, status ID, logs ID or stop ID; "} + hint);
  std::string verb = argv[1];
  if (verb != "submit" && verb != "list" && verb != "status" && verb != "logs" && verb != "stop")
    return fail("unknown verb '" + verb + "'; " + hint);
  // The verb's flags after its own verb: `manta job submit --address=...`.
  auto args = parse_command("job", argc - 1, argv + 1);
  if (!args.error.empty())
    return usage_error("job", args.error);
  if (verb == "submit")
    return submit(args);
  if (!args.program.empty())
    return fail("`manta job " + verb + "` runs no program; " + hint);
  head_args head;
  if (int rc = head.take(args); rc != 0)
    return rc;
  auto& ids = args.arguments;
  if (verb == "list")
    return ids.empty() ? list(head) : fail("`manta job list` takes no job id");
  if (ids.size() != 1)
    return fail("`manta job " + verb + "` takes one job id (e.g. job-0001)");
  return verb == "status" ? status(ids[0], head) : verb == "logs" ? logs(ids[0]) : stop(ids[0]);
}

} // namespace manta::tools
