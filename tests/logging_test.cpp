// The logging API for user code: levels, the task/actor/node prefix, and
// lines that travel like printed output (task_logs, the driver's terminal,
// from a worker node to the driver). This binary is also the head and the
// workers (cluster_main.hpp); the test process's std::cerr goes to a sink.

#include "tests/cluster_main.hpp"

#include <manta/core/job_id.hpp>
#include <manta/manta.hpp>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// What the test process's std::cerr receives (installed before the first
/// init, so the log capture writes here too).
std::stringstream& err_sink() {
  static std::stringstream s;
  return s;
}

struct where {
  int node = 0;
  int pid = 0;
};

where here() {
  return {static_cast<int>(manta::current_node()), static_cast<int>(::getpid())};
}

/// Logs one line at each level, and one text of two lines.
where say(std::string tag) {
  manta::log_debug() << tag << " debug";
  manta::log_info() << tag << " info " << 42;
  manta::log_warning() << tag << " warning";
  manta::log_message(manta::log_level::error, tag + " error\n" + tag + " second line");
  return here();
}

MANTA_REMOTE(say);

class speaker {
public:
  where speak(std::string tag) {
    manta::log_warning() << tag << " from an actor";
    return here();
  }
};

MANTA_ACTOR(speaker, &speaker::speak);

std::vector<std::string> lines_at_info(const std::string& tag) {
  return {"[INFO] " + tag + " info 42", "[WARNING] " + tag + " warning",
          "[ERROR] " + tag + " error", "[ERROR] " + tag + " second line"};
}

/// A line's prefix: who, the node and pid, and the job in a cluster (the
/// head's id for this driver; none on a single node).
std::string prefix(const std::string& who, where w) {
  auto job = manta::detail::job_id();
  return "(" + who + " node-" + std::to_string(w.node) + " (pid " + std::to_string(w.pid) + ")"
         + (job.empty() ? "" : " " + job) + ") ";
}

bool sink_has(const std::string& text) {
  return err_sink().str().find(text) != std::string::npos;
}

struct local_runtime {
  explicit local_runtime(bool log_prefix = true) {
    manta::init_options o;
    o.num_cpus = 2;
    o.log_prefix = log_prefix;
    manta::init(o);
    err_sink().str("");
  }
  ~local_runtime() {
    manta::set_log_level(manta::log_level::info);
    manta::shutdown();
  }
};

} // namespace

TEST_CASE("a task's log lines are kept for task_logs and printed with its prefix") {
  local_runtime rt;
  CHECK(manta::get_log_level() == manta::log_level::info); // MANTA_LOG_LEVEL unset
  auto r = manta::task(say).remote("t1");
  auto w = manta::get(r, 10s);
  CHECK(manta::task_logs(r.id()) == lines_at_info("t1"));
  CHECK(sink_has(prefix("say", w) + "[INFO] t1 info 42\n"));
  CHECK(sink_has(prefix("say", w) + "[ERROR] t1 second line\n"));
  CHECK_FALSE(sink_has("t1 debug"));
  // Debug lines once the level allows them, and nothing below error after.
  manta::set_log_level(manta::log_level::debug);
  auto d = manta::task(say).remote("t2");
  manta::get(d, 10s);
  CHECK(manta::task_logs(d.id()).front() == "[DEBUG] t2 debug");
  manta::set_log_level(manta::log_level::error);
  auto e = manta::task(say).remote("t3");
  manta::get(e, 10s);
  CHECK(manta::task_logs(e.id())
        == std::vector<std::string>{"[ERROR] t3 error", "[ERROR] t3 second line"});
}

TEST_CASE("an actor's lines name the actor; the driver's name the driver") {
  local_runtime rt;
  auto s = manta::actor<speaker>().name("loud").remote();
  auto call = s.call(&speaker::speak).remote("a1");
  auto w = manta::get(call, 10s);
  CHECK(manta::task_logs(call.id()) == std::vector<std::string>{"[WARNING] a1 from an actor"});
  CHECK(sink_has(prefix("speaker 'loud'.speak", w) + "[WARNING] a1 from an actor\n"));
  manta::log_info() << "from main";
  CHECK(sink_has(prefix("driver", here()) + "[INFO] from main\n"));
}

TEST_CASE("with log_prefix off a task's line carries its own prefix and is not kept") {
  local_runtime rt{/*log_prefix=*/false};
  auto r = manta::task(say).remote("p1");
  auto w = manta::get(r, 10s);
  CHECK(manta::task_logs(r.id()).empty());
  CHECK(sink_has(prefix("say", w) + "[INFO] p1 info 42\n"));
}

TEST_CASE("lines logged on a worker node reach the driver, prefixed with that node") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(/*local_cpus=*/0);
  err_sink().str("");
  auto r = manta::task(say).remote("w1");
  auto w = manta::get(r, 20s);
  CHECK(w.node != static_cast<int>(manta::current_node()));
  CHECK(w.pid != static_cast<int>(::getpid()));
  CHECK(manta::task_logs(r.id()) == lines_at_info("w1"));
  CHECK(sink_has(prefix("say", w) + "[WARNING] w1 warning\n"));
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(
    argc, argv, [](doctest::Context&) { std::cerr.rdbuf(err_sink().rdbuf()); });
}
