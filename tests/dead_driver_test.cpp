// A driver killed with -9 leaves nothing on the workers: within 5 s the
// worker has dropped its actor, cancelled its queued and running tasks and
// freed the large results it held for it, and the worker's memory (RSS)
// comes back.
//
// A detached actor is the exception: it stays on its worker and answers
// another driver that finds it by name through the head; and each driver
// is a job with an id from the head, shown in the state API and by
// `manta job list`.
//
// This binary is head and worker (manta::local_cluster) and, with
// --doomed-driver DIR (or --detached-driver DIR), the driver that the test
// kills: a process of its own, which says "ready" in DIR/driver.status
// once its work is on the worker.
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"
#include "manta/core/job_id.hpp"
#include "manta/cluster/node_state.hpp"
#include "manta/core/runtime.hpp"
#include "manta/net/wire.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/shell_command.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Large enough that glibc maps each buffer on its own (over its 32 MiB
/// mmap threshold ceiling), so freeing it shows in the RSS at once.
constexpr int64_t object_mb = 40;
constexpr int num_results = 4;
constexpr int num_naps = 6;

/// A result kept on the worker until its owner reads or frees it.
std::vector<char> big(int64_t mb) {
  return std::vector<char>(static_cast<size_t>(mb) << 20, 'x');
}

MANTA_REMOTE(big);

/// A long task that stops when told it was cancelled.
int64_t nap(int64_t ms) {
  for (auto until = steady::now() + std::chrono::milliseconds(ms); steady::now() < until;) {
    if (manta::cancelled())
      return -1;
    std::this_thread::sleep_for(10ms);
  }
  return ms;
}

MANTA_REMOTE(nap);

/// An actor holding a buffer of its own.
class holder {
public:
  explicit holder(int64_t mb) : data_(static_cast<size_t>(mb) << 20, 'y') {}
  int64_t size() { return static_cast<int64_t>(data_.size()); }

private:
  std::vector<char> data_;
};

MANTA_ACTOR(holder, &holder::size);

void say(const std::string& path, const std::string& text) {
  std::ofstream{path, std::ios::app} << text << std::endl;
}

/// Joins the test's cluster (runtime folder `dir`) as a driver with no
/// CPUs and waits (up to `limit`) for its worker: the worker's node, or
/// nothing once it said in `status` what went wrong.
std::optional<manta::node_id> join_as_driver(const std::string& dir, const std::string& status,
                                             std::chrono::seconds limit) {
  auto opts = manta_test::second_driver_options(dir, 0);
  manta::init(opts);
  // A task submitted before the worker is connected would find no CPU.
  if (!manta_test::wait_for_cluster_cpus(2, limit)) {
    say(status, "error: the worker did not connect");
    return std::nullopt;
  }
  auto nodes = manta_test::worker_nodes(1);
  if (nodes.size() != 1) {
    say(status, "error: no worker");
    return std::nullopt;
  }
  return nodes.begin()->second;
}

/// The driver the test kills (see the top of the file).
int doomed_driver_main(const std::string& dir) {
  auto status = dir + "/driver.status";
  auto joined = join_as_driver(dir, status, manta::local_cluster::join_limit);
  if (!joined)
    return 2;
  auto worker = *joined;
  auto a = manta::actor<holder>().node_affinity(worker, true).remote(object_mb);
  if (manta::get(a.call(&holder::size).remote(), 30s) != object_mb << 20) {
    say(status, "error: the actor");
    return 2;
  }
  std::vector<manta::object_ref<std::vector<char>>> results;
  for (int i = 0; i < num_results; ++i)
    results.push_back(manta::task(big).remote(object_mb));
  auto [done, pending] = manta::wait(results, num_results, 60s);
  if (done.size() != results.size()) {
    say(status, "error: the results");
    return 2;
  }
  std::vector<manta::object_ref<int64_t>> naps;
  for (int i = 0; i < num_naps; ++i)
    naps.push_back(manta::task(nap).remote(int64_t{600'000}));
  say(status, "ready");
  std::this_thread::sleep_for(600s); // until killed
  return 0;
}

/// The driver of the detached case: a detached actor "keeper" and an
/// ordinary one "temp" on the worker, both named; says "ready JOB_ID".
/// With `leave`, it shuts down and exits instead of waiting to be killed
/// (its actors are named "keeper2" and "temp2" then).
int detached_driver_main(const std::string& dir, bool leave) {
  auto status = dir + "/driver.status";
  auto joined = join_as_driver(dir, status, 15s);
  if (!joined)
    return 2;
  auto worker = *joined;
  auto suffix = std::string{leave ? "2" : ""};
  auto keeper = manta::actor<holder>()
                  .name("keeper" + suffix)
                  .lifetime_detached()
                  .node_affinity(worker)
                  .remote(int64_t{1});
  auto temp = manta::actor<holder>().name("temp" + suffix).node_affinity(worker).remote(int64_t{1});
  if (manta::get(keeper.call(&holder::size).remote(), 30s) != 1 << 20
      || manta::get(temp.call(&holder::size).remote(), 30s) != 1 << 20) {
    say(status, "error: the actors");
    return 2;
  }
  say(status, "ready " + manta::detail::job_id());
  if (leave) {
    manta::shutdown();
    return 0;
  }
  std::this_thread::sleep_for(600s); // until killed
  return 0;
}

/// The resident memory of process `pid` in bytes (VmRSS), or 0.
uint64_t rss_of(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

/// Sets MANTA_CONNECTION_TIMEOUT (the grace before a worker sweeps a
/// closed owner) for the processes of the test's cluster.
struct timeout_env {
  timeout_env() { ::setenv("MANTA_CONNECTION_TIMEOUT", "2s", 1); }
  ~timeout_env() { ::unsetenv("MANTA_CONNECTION_TIMEOUT"); }
};

/// The only worker's state (its actors and tasks), asked directly with the
/// token as the head's dashboard asks it.
manta::detail::node_state worker_state(caf::scoped_actor& self, const caf::actor& manager,
                                       const std::string& token) {
  manta::detail::state_query q;
  q.sections = manta::detail::state_query::actors | manta::detail::state_query::tasks;
  manta::detail::node_state s;
  self
    ->request(manager, 5s, manta::actors::state_atom::value, token, manta::detail::wire::encode(q))
    .receive([&](const manta::detail::wire::bytes& b) { manta::detail::wire::decode(b, s); },
             [&](caf::error&) {});
  return s;
}

size_t alive_actors(const manta::detail::node_state& s) {
  size_t n = 0;
  // The record's own state (its first "state" field; the states in its
  // "history" follow it).
  const std::string alive = "\"state\":\"ALIVE\"";
  for (auto& a : s.actor_records) {
    auto at = a.find("\"state\":");
    n += at != std::string::npos && a.compare(at, alive.size(), alive) == 0;
  }
  return n;
}

/// After the driver's work is on the worker: ends the driver with
/// `end_driver`, then checks that within 5 s the worker has no live actor
/// and no unfinished task left, and that its RSS went down by the results.
void check_cleanup(manta::local_cluster& c, pid_t worker, const std::string& worker_log,
                   const std::function<void()>& end_driver) {
  c.join(0, [] {
    manta::init_options o;
    o.connection_timeout = 2s;
    return o;
  }());
  auto manager = manta_test::only_worker_manager(c.token());
  REQUIRE(manager);
  auto& sys = manta::detail::runtime::require("test").system();
  caf::scoped_actor self{sys};
  auto ask = [&] { return worker_state(self, *manager, c.token()); };
  auto unfinished = [](const manta::detail::node_state& s) {
    uint64_t n = 0;
    for (auto st : {manta::task_state::pending_args, manta::task_state::waiting_for_resources,
                    manta::task_state::queued_in_actor, manta::task_state::running})
      n += s.task_counts[static_cast<size_t>(st)];
    return n;
  };
  // The naps reach the worker right after "ready": wait until all are there.
  manta::detail::node_state before;
  for (auto until = steady::now() + 10s; steady::now() < until; std::this_thread::sleep_for(10ms))
    if (before = ask(); unfinished(before) >= num_naps)
      break;
  auto rss_before = rss_of(worker);
  CHECK(alive_actors(before) == 1);
  CHECK(unfinished(before) == num_naps);
  CHECK(rss_before > uint64_t{num_results + 1} * (object_mb << 20));

  end_driver();
  auto killed = steady::now();
  manta::detail::node_state after;
  uint64_t rss_after = rss_before;
  bool clean = false;
  auto freed_enough = [&] {
    return rss_after + uint64_t{num_results} * (object_mb << 20) < rss_before;
  };
  for (auto until = killed + 5s; steady::now() < until && !clean;
       std::this_thread::sleep_for(20ms)) {
    after = ask();
    rss_after = rss_of(worker);
    clean = alive_actors(after) == 0 && unfinished(after) == 0 && freed_enough();
  }
  auto took = std::chrono::duration<double>(steady::now() - killed).count();
  CHECK(alive_actors(after) == 0);
  CHECK(unfinished(after) == 0);
  CHECK(freed_enough());
  CHECK(manta_test::wait_for_text(worker_log, "did not come back", 1s));
  MESSAGE("worker RSS " << rss_before / (1 << 20) << " MiB before the kill, "
                        << rss_after / (1 << 20) << " MiB " << took
                        << " s after it; tasks unfinished " << unfinished(before) << " -> "
                        << unfinished(after));
}


/// This program started as a driver of `c` (`role`: --doomed-driver,
/// --detached-driver) logging to driver.log, and waited for (40 s at most)
/// until its status file says `ready_text`.
struct spawned_driver {
  spawned_driver(manta::local_cluster& c, const char* role, const std::string& ready_text)
    : status(c.dir() + "/driver.status"), log(c.dir() + "/driver.log"),
      pid(c.spawn({role, c.dir()}, log)),
      ready(manta_test::wait_for_text(status, ready_text, 40s)) {}

  /// What the driver and the worker (its log `worker_log`) said: the
  /// context of a failed check.
  std::string said(const std::string& worker_log) const {
    return "driver status:\n" + manta_test::read_all(status) + "\ndriver log:\n"
           + manta_test::read_all(log) + "\nworker log:\n" + manta_test::read_all(worker_log);
  }

  std::string status;
  std::string log;
  pid_t pid;
  bool ready;
};

} // namespace

TEST_CASE("a driver killed with -9 leaves no actor, task or result on the worker, and the "
          "worker's memory comes back within 5 s") {
  timeout_env env;
  manta::local_cluster c;
  auto worker_log = c.dir() + "/worker.log";
  auto worker = c.add_worker(2, "", {}, worker_log);
  spawned_driver driver{c, "--doomed-driver", "ready"};
  INFO(driver.said(worker_log));
  REQUIRE(driver.ready);
  check_cleanup(c, worker, worker_log, [&] { REQUIRE(::kill(driver.pid, SIGKILL) == 0); });
}

TEST_CASE("a driver run by `manta job submit` and ended by `manta job stop` leaves nothing on "
          "the worker") {
  auto* bin = std::getenv("MANTA_BIN");
  if (bin == nullptr) {
    MESSAGE("skipped: MANTA_BIN does not name the manta tool (meson test sets it)");
    return;
  }
  timeout_env env;
  manta::local_cluster c;
  auto worker_log = c.dir() + "/worker.log";
  auto worker = c.add_worker(2, "", {}, worker_log);
  auto job = [&](const std::string& args) {
    return manta_test::run("MANTA_RUNTIME_DIR=" + c.dir() + "/runtime " + bin + " job " + args);
  };
  // The head of the test's cluster, with its token in a file only we read.
  auto at_head = " --address=" + c.address() + " --token-file=" + c.dir() + "/head.token";
  auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto [rc, out] = job("submit" + at_head + " -- " + self + " --doomed-driver " + c.dir());
  REQUIRE(rc == 0);
  auto id = out.substr(0, out.find('\n'));
  CHECK(id.rfind("job-", 0) == 0);
  auto status = c.dir() + "/driver.status";
  bool ready = manta_test::wait_for_text(status, "ready", 40s);
  INFO("driver status:\n"
       << manta_test::read_all(status) << "\njob log:\n"
       << job("logs " + id).second << "\nworker log:\n"
       << manta_test::read_all(worker_log));
  REQUIRE(ready);
  CHECK(job("list" + at_head).second.find(id + "   RUNNING") != std::string::npos);
  check_cleanup(c, worker, worker_log, [&] {
    auto [src, said] = job("stop " + id);
    CHECK(src == 0);
    CHECK(said.find("STOPPED") != std::string::npos);
  });
  // The supervisor tells the head how the job ended (it may come just
  // after `stop` returned).
  bool stopped = false;
  for (auto until = steady::now() + 5s; steady::now() < until && !stopped;
       std::this_thread::sleep_for(20ms))
    stopped = job("status " + id + at_head).second.find("\"state\":\"STOPPED\"")
              != std::string::npos;
  CHECK(stopped);
}

TEST_CASE("a detached actor on a worker outlives its driver's kill -9 and answers another "
          "driver by name; the driver's other actor goes; each driver is a job of the head") {
  timeout_env env;
  manta::local_cluster c;
  auto worker_log = c.dir() + "/worker.log";
  c.add_worker(2, "", {}, worker_log);
  spawned_driver driver{c, "--detached-driver", "ready job-"};
  INFO(driver.said(worker_log));
  REQUIRE(driver.ready);
  auto& status = driver.status;
  auto words = manta_test::read_all(status);
  auto their_job = words.substr(words.find("job-"));
  their_job = their_job.substr(0, their_job.find_first_of(" \n"));
  c.join(0, [] {
    manta::init_options o;
    o.connection_timeout = 2s;
    return o;
  }());
  // Two drivers, two jobs: ids the head handed out, distinct.
  auto my_job = manta::detail::job_id();
  CHECK(my_job.rfind("job-", 0) == 0);
  CHECK(my_job != their_job);

  // The job id in the state API: this driver's tasks on the worker carry
  // it, in this driver's list_tasks and in the worker's own records.
  auto nodes = manta_test::worker_nodes(1);
  REQUIRE(nodes.size() == 1);
  size_t mine_remote = 0;
  for (auto& t : manta::list_tasks())
    if (t.name == "where_it_ran" && t.node != manta::detail::runtime::node_name()) {
      CHECK(t.job == my_job);
      ++mine_remote;
    }
  CHECK(mine_remote > 0);
  // ... and in the metrics, per job.
  CHECK(manta::metrics::prometheus_text().find("manta_job_tasks{job=\"" + my_job
                                               + "\",state=\"FINISHED\"}")
        != std::string::npos);
  auto manager = manta_test::only_worker_manager(c.token());
  REQUIRE(manager);
  auto& sys = manta::detail::runtime::require("test").system();
  caf::scoped_actor self{sys};
  auto before = worker_state(self, *manager, c.token());
  CHECK(alive_actors(before) == 2);
  auto has = [](const std::vector<std::string>& records, const std::string& text) {
    for (auto& r : records)
      if (r.find(text) != std::string::npos)
        return true;
    return false;
  };
  CHECK(has(before.actor_records, "\"job\":\"" + their_job + "\""));
  CHECK(has(before.tasks, "\"job\":\"" + my_job + "\""));

  REQUIRE(::kill(driver.pid, SIGKILL) == 0);
  auto killed = steady::now();
  // Within 5 s: the worker keeps only the detached actor, and the head
  // forgot the other one's name.
  bool settled = false;
  for (auto until = killed + 5s; steady::now() < until && !settled;
       std::this_thread::sleep_for(20ms)) {
    bool temp_gone = false;
    try {
      manta::get_actor<holder>("temp");
    } catch (const manta::actor_not_found_error&) {
      temp_gone = true;
    }
    settled = temp_gone && alive_actors(worker_state(self, *manager, c.token())) == 1;
  }
  auto took = std::chrono::duration<double>(steady::now() - killed).count();
  CHECK(settled);
  auto keeper = manta::get_actor<holder>("keeper");
  CHECK(manta::get(keeper.call(&holder::size).remote(), 10s) == 1 << 20);
  MESSAGE("the driver's other actor gone and the detached one answering by name "
          << took << " s after the kill");

  // The head's job table, read by `manta job list` as from any machine.
  if (auto* bin = std::getenv("MANTA_BIN")) {
    auto [rc, listing] = manta_test::run(std::string{bin} + " job list --address=" + c.address()
                                         + " --token-file=" + c.dir() + "/head.token");
    INFO(listing);
    CHECK(rc == 0);
    CHECK(listing.find(their_job + "   FAILED") != std::string::npos);
    CHECK(listing.find(my_job + "   RUNNING") != std::string::npos);
  }

  // A driver that shuts down (returns from main) leaves its detached
  // actor there too, and its job FINISHED; its other actor goes.
  std::filesystem::remove(status);
  auto leaving = c.spawn({"--leaving-driver", c.dir()}, c.dir() + "/leaving.log");
  CHECK(manta_test::exit_status(leaving, 40s) == 0);
  INFO("leaving driver log:\n" << manta_test::read_all(c.dir() + "/leaving.log"));
  auto left_words = manta_test::read_all(status);
  REQUIRE(left_words.find("ready job-") != std::string::npos);
  auto left_job = left_words.substr(left_words.find("job-"));
  left_job = left_job.substr(0, left_job.find_first_of(" \n"));
  bool temp2_gone = false;
  for (auto until = steady::now() + 5s; steady::now() < until && !temp2_gone;
       std::this_thread::sleep_for(20ms)) {
    try {
      manta::get_actor<holder>("temp2");
    } catch (const manta::actor_not_found_error&) {
      temp2_gone = true;
    }
  }
  CHECK(temp2_gone);
  auto keeper2 = manta::get_actor<holder>("keeper2");
  CHECK(manta::get(keeper2.call(&holder::size).remote(), 10s) == 1 << 20);
  if (auto* bin = std::getenv("MANTA_BIN")) {
    auto [rc, listing] = manta_test::run(std::string{bin} + " job list --address=" + c.address()
                                         + " --token-file=" + c.dir() + "/head.token");
    INFO(listing);
    CHECK(listing.find(left_job + "   FINISHED") != std::string::npos);
  }

  // Only a kill ends them.
  manta::kill(keeper);
  manta::kill(keeper2);
  bool gone = false;
  for (auto until = steady::now() + 5s; steady::now() < until && !gone;
       std::this_thread::sleep_for(20ms))
    gone = alive_actors(worker_state(self, *manager, c.token())) == 0;
  CHECK(gone);
}

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--doomed-driver")
      return doomed_driver_main(argv[i + 1]);
    else if (std::string{argv[i]} == "--detached-driver")
      return detached_driver_main(argv[i + 1], false);
    else if (std::string{argv[i]} == "--leaving-driver")
      return detached_driver_main(argv[i + 1], true);
  return manta_test::cluster_test_main(argc, argv);
}
