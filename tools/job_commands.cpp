// `manta job ...`: a driver started by `manta job submit` runs under a
// small supervisor process that records its life in
// <runtime folder>/jobs/<id>/job.json and its output in .../output.log.
#include "tools/job_commands.hpp"

#include "manta/detail/runtime_dir.hpp"

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

/// The next free id: "job-0001", "job-0002", ... (made by mkdir, so two
/// submissions at once never share one).
std::string new_job(const std::string& root, std::string& dir) {
  for (int n = 1; n < 100000; ++n) {
    char id[16];
    std::snprintf(id, sizeof id, "job-%04d", n);
    dir = root + "/" + id;
    if (::mkdir(dir.c_str(), 0700) == 0)
      return id;
    if (errno != EEXIST)
      break;
  }
  return {};
}

/// The supervisor (a child of `manta job submit`, in a session of its
/// own): runs the driver with its output in the log, records its end.
[[noreturn]] void supervise(const std::string& dir, json::object rec,
                            const std::vector<std::string>& args) {
  ::setsid();
  int log = ::open((dir + "/output.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                   0600);
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
  int status = 0;
  while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  rec["end_time"] = now_text();
  bool stopped = fs::exists(dir + "/stop");
  if (WIFEXITED(status)) {
    rec["exit_code"] = WEXITSTATUS(status);
    rec["state"] = stopped ? "STOPPED" : WEXITSTATUS(status) == 0 ? "FINISHED" : "FAILED";
  } else {
    rec["signal"] = WTERMSIG(status);
    rec["state"] = stopped ? "STOPPED" : "FAILED";
  }
  write_record(dir, rec);
  ::_exit(0);
}

int submit(int argc, char** argv) {
  std::string address;
  int i = 0;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.rfind("--address=", 0) == 0)
      address = a.substr(10);
    else
      return fail("unknown option '" + a + "' of submit; usage: manta job submit "
                  "[--address=HOST:PORT|auto] -- PROGRAM [ARGS]");
  }
  if (i >= argc)
    return fail("submit needs the driver to run after `--`: manta job submit -- ./app ARGS");
  std::vector<std::string> args(argv + i, argv + argc);
  auto root = jobs_dir();
  if (root.empty())
    return 2;
  std::string dir;
  auto id = new_job(root, dir);
  if (id.empty())
    return fail("cannot make a job folder in " + root + ": " + std::strerror(errno));
  // The driver joins the cluster given, else the one started here.
  if (!address.empty())
    ::setenv("MANTA_ADDRESS", address.c_str(), 1);
  else if (std::getenv("MANTA_ADDRESS") == nullptr)
    ::setenv("MANTA_ADDRESS", "auto", 1);
  ::setenv("MANTA_JOB_ID", id.c_str(), 1);
  json::object rec;
  rec["job_id"] = id;
  std::string entry;
  for (auto& a : args)
    entry += (entry.empty() ? "" : " ") + a;
  rec["entrypoint"] = entry;
  rec["address"] = std::getenv("MANTA_ADDRESS");
  rec["start_time"] = now_text();
  rec["state"] = "PENDING";
  write_record(dir, rec);
  std::fflush(nullptr);
  pid_t sup = ::fork();
  if (sup < 0)
    return fail(std::string{"fork: "} + std::strerror(errno));
  if (sup == 0)
    supervise(dir, rec, args);
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
    std::fprintf(stderr, "manta job: no job '%s' in %s; `manta job list` shows the jobs\n",
                 id.c_str(), root.c_str());
    return {};
  }
  return root + "/" + id;
}

int list() {
  auto root = jobs_dir();
  if (root.empty())
    return 2;
  std::vector<std::string> ids;
  for (auto& e : fs::directory_iterator(root))
    ids.push_back(e.path().filename().string());
  std::sort(ids.begin(), ids.end());
  std::printf("%-10s %-9s %-8s %-21s %-21s %s\n", "JOB_ID", "STATE", "PID", "START", "END",
              "ENTRYPOINT");
  for (auto& id : ids)
    if (auto r = read_record(root + "/" + id))
      std::printf("%-10s %-9s %-8s %-21s %-21s %s\n", id.c_str(), field(*r, "state").c_str(),
                  field(*r, "pid").c_str(), field(*r, "start_time").c_str(),
                  field(*r, "end_time").c_str(), field(*r, "entrypoint").c_str());
  return 0;
}

int status(const std::string& id) {
  auto dir = job_dir(id);
  if (dir.empty())
    return 2;
  auto r = read_record(dir);
  if (!r)
    return fail("the record of " + id + " in " + dir + " is unreadable");
  std::printf("%s\n", json::serialize(*r).c_str());
  return 0;
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
  if (verb == "submit")
    return submit(argc - 2, argv + 2);
  if (verb == "list")
    return list();
  if (verb == "status" || verb == "logs" || verb == "stop") {
    if (argc != 3)
      return fail("`manta job " + verb + "` takes one job id (e.g. job-0001)");
    return verb == "status" ? status(argv[2]) : verb == "logs" ? logs(argv[2]) : stop(argv[2]);
  }
  return fail("unknown verb '" + verb + "'; " + hint);
}

} // namespace manta::tools
