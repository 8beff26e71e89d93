// Waits on other processes are bounded: a driver paused (SIGSTOP) past the
// connection timeout, with actors on two workers, finds both links closed
// when it resumes; it connects again, its actors restart on the workers, and
// every call either runs exactly once or fails with a named error, never
// hangs. And creating an actor on a worker that stopped answering (its
// process stopped, its connection open) fails within the connection
// timeout with an error naming the node, instead of blocking the pool
// thread that creates it.
//
// This binary is head and workers (manta::local_cluster) and, with
// --paused-driver, the driver that the test stops and resumes: a process of
// its own, which reports through a status file and its exit code.
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"
#include "manta/core/caf_config.hpp"
#include "manta/net/transport.hpp"
#include "manta/net/wire.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Every process of the test's clusters closes a connection silent this long.
constexpr auto timeout = 1s;
constexpr const char* timeout_text = "1s";
constexpr int num_actors = 30;
/// Calls each actor gets per round (all in flight together), and how long
/// each takes: a round keeps each actor busy for 1.6 s, more than the
/// connection timeout, so calls are outstanding when the workers drop the
/// paused driver's actors.
constexpr int calls_per_round = 4;
constexpr int64_t call_ms = 400;
/// What a call may take at most, however the driver was paused.
constexpr auto call_bound = 20s;

/// Appends `line` to `path` (one write, so lines of processes do not mix).
void append(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    auto text = line + "\n";
    [[maybe_unused]] auto n = ::write(fd, text.data(), text.size());
    ::close(fd);
  }
}

/// An actor whose every call leaves a line "call-id pid" in a log that
/// every process appends to: how many times each call ran.
class stepper {
public:
  stepper(int64_t seed, std::string log) : seed_(seed), log_(std::move(log)) {}

  /// Takes `ms` (so that calls are still queued on the workers when the
  /// driver stops), records its run, returns a function of seed and call.
  int64_t step(int64_t call, int64_t ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    append(log_, std::to_string(call) + " " + std::to_string(::getpid()));
    return seed_ * 1000 + call;
  }

private:
  int64_t seed_;
  std::string log_;
};

MANTA_ACTOR(stepper, &stepper::step);

/// 4 MiB: more than a result sent back inline, so it stays on its node
/// until read.
std::vector<char> big_result() {
  return std::vector<char>(4 << 20, 'x');
}

MANTA_REMOTE(big_result);

/// Runs per call id, from the log.
std::map<int64_t, int> runs_of(const std::string& log) {
  std::map<int64_t, int> out;
  std::ifstream in{log};
  int64_t call = 0;
  int64_t pid = 0;
  while (in >> call >> pid)
    ++out[call];
  return out;
}

/// What happened to one call.
struct outcome {
  enum kind_t { ok, wrong_value, died, other_error, hung } kind = ok;
  std::string message;
};

/// The driver the test pauses: `--paused-driver DIR` (the cluster's folder:
/// the head's address and token, and where this process writes). Makes 30
/// actors on the two workers, calls them round after round (each round 4
/// calls per actor in flight, 400 ms each) until DIR/resumed exists, then calls each
/// actor once more. Writes "ready" to DIR/driver.status when the calls
/// run, "submitted N" when a round's calls are on their way, then one line
/// per call that did not succeed and a summary; exits 0
/// after a clean shutdown, 3 if a call hung.
int paused_driver_main(const std::string& dir) {
  auto status = dir + "/driver.status";
  auto log = dir + "/calls.log";
  auto opts = manta_test::second_driver_options(dir, 0);
  opts.connection_timeout = timeout;
  manta::init(opts);
  if (!manta_test::wait_for_cluster_cpus(4, manta::local_cluster::join_limit)) {
    append(status, "error: the workers did not connect");
    return 2;
  }
  auto workers = manta_test::worker_nodes(2);
  std::vector<manta::node_id> nodes;
  for (auto& [pid, node] : workers)
    nodes.push_back(node);
  if (nodes.size() != 2) {
    append(status, "error: tasks reached " + std::to_string(nodes.size()) + " workers");
    return 2;
  }
  std::vector<manta::actor_handle<stepper>> actors;
  for (int i = 0; i < num_actors; ++i)
    actors.push_back(manta::actor<stepper>()
                       .node_affinity(nodes[static_cast<size_t>(i) % 2], true)
                       .max_restarts(10)
                       .remote(int64_t{i}, log));
  std::map<int64_t, outcome> outcomes; // by call id
  int64_t next_call = 0;
  // One round: `per_actor` calls of every actor in flight, then each read.
  auto round = [&](int per_actor, int64_t ms) {
    struct pending {
      int64_t call;
      int64_t seed;
      manta::object_ref<int64_t> ref;
    };
    std::vector<pending> refs;
    for (int k = 0; k < per_actor; ++k)
      for (int i = 0; i < num_actors; ++i) {
        auto call = next_call++;
        refs.push_back(
          {call, i, actors[static_cast<size_t>(i)].call(&stepper::step).remote(call, ms)});
      }
    append(status, "submitted " + std::to_string(next_call));
    auto deadline = steady::now() + call_bound;
    bool all_ok = true;
    for (auto& p : refs) {
      auto& out = outcomes[p.call];
      try {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
        auto v = manta::get(p.ref, std::max(left, std::chrono::milliseconds{1}));
        out.kind = v == p.seed * 1000 + p.call ? outcome::ok : outcome::wrong_value;
      } catch (const manta::get_timeout_error& e) {
        out = {outcome::hung, e.what()};
      } catch (const manta::actor_died_error& e) {
        out = {outcome::died, e.what()};
      } catch (const std::exception& e) {
        out = {outcome::other_error, e.what()};
      }
      all_ok = all_ok && out.kind == outcome::ok;
    }
    return all_ok;
  };
  if (!round(1, 0)) {
    append(status, "error: the first round failed");
    return 2;
  }
  append(status, "ready");
  int rounds = 1;
  auto hung = [&] {
    for (auto& [call, out] : outcomes)
      if (out.kind == outcome::hung)
        return true;
    return false;
  };
  while (!std::filesystem::exists(dir + "/resumed") && !hung()) {
    round(calls_per_round, call_ms);
    ++rounds;
  }
  auto resumed_rounds = rounds;
  // The round that ran across the pause is done; now every actor once more.
  auto fresh_from = next_call;
  bool fresh_ok = !hung() && round(1, 0);
  int counts[5] = {};
  for (auto& [call, out] : outcomes) {
    ++counts[out.kind];
    if (out.kind != outcome::ok)
      append(status, "call " + std::to_string(call) + (call >= fresh_from ? " (fresh)" : "")
                       + " kind " + std::to_string(out.kind) + ": " + out.message);
  }
  std::ostringstream summary;
  summary << "summary rounds " << resumed_rounds << " calls " << outcomes.size() << " ok "
          << counts[outcome::ok] << " wrong " << counts[outcome::wrong_value] << " died "
          << counts[outcome::died] << " other " << counts[outcome::other_error] << " hung "
          << counts[outcome::hung] << " fresh_ok " << fresh_ok << " first_fresh " << fresh_from
          << " last " << next_call;
  append(status, summary.str());
  if (hung())
    ::_exit(3); // a pool thread may be stuck: do not wait for it
  manta::shutdown();
  append(status, "shut down");
  return 0;
}

/// A worker that joins the head and answers the driver's pings, but never
/// answers anything else (a node manager that lost the spec, or whose
/// answer went down a connection that closed): `--mute-worker DIR`. Writes
/// its node index to DIR/mute.index once joined; runs until killed.
int mute_worker_main(const std::string& dir) {
  namespace wire = manta::detail::wire;
  auto token = manta_test::read_word(dir + "/head.token");
  auto address = manta_test::read_word(dir + "/head.address");
  auto cfg = manta::detail::make_caf_config(2, true, {}, token, timeout);
  caf::actor_system sys{*cfg};
  auto manager = sys.spawn([token](caf::event_based_actor* self) -> caf::behavior {
    // Swallows everything else without a word (caf::drop would answer
    // with an error message).
    self->set_default_handler([](caf::scheduled_actor*, caf::message_view&) {
      return caf::result<caf::message>{caf::delegated<caf::message>{}};
    });
    return {
      [=](manta::actors::ping_atom, const std::string&) {
        self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                   manta::actors::pong_atom::value, token);
      },
    };
  });
  auto port = manta::detail::publish(sys, manager, 0, "127.0.0.1");
  auto colon = address.rfind(':');
  auto head = manta::detail::connect(
    sys, address.substr(0, colon), static_cast<uint16_t>(std::stoi(address.substr(colon + 1))), 5s);
  if (!port || !head)
    return 2;
  wire::node_record me;
  me.host = "127.0.0.1";
  me.port = *port;
  me.pid = static_cast<uint32_t>(::getpid());
  me.cpus = 1;
  caf::scoped_actor self{sys};
  int index = -1;
  self->request(*head, 5s, manta::actors::join_atom::value, token, wire::encode(me), manager)
    .receive(
      [&](const wire::bytes& bytes) {
        wire::cluster_view view;
        if (wire::decode(bytes, view).empty())
          index = view.your_index;
      },
      [&](caf::error&) {});
  if (index < 0)
    return 2;
  append(dir + "/mute.index", std::to_string(index));
  for (;;)
    std::this_thread::sleep_for(1s);
}

/// Sets MANTA_CONNECTION_TIMEOUT for the processes of a test's cluster.
struct timeout_env {
  timeout_env() { ::setenv("MANTA_CONNECTION_TIMEOUT", timeout_text, 1); }
  ~timeout_env() { ::unsetenv("MANTA_CONNECTION_TIMEOUT"); }
};

/// Joins `c` as its driver, with no CPUs and the test's connection timeout.
void join_with_timeout(manta::local_cluster& c) {
  manta::init_options opts;
  opts.connection_timeout = timeout;
  c.join(0, opts);
}

/// Continues a process the case stopped (SIGSTOP) when the case ends,
/// however it ends.
struct resume_at_end {
  pid_t pid;
  ~resume_at_end() { ::kill(pid, SIGCONT); }
};

/// The number after `key` in the summary line of `status`, or -1.
int64_t field(const std::string& status, const std::string& key) {
  auto at = status.find("summary ");
  if (at == std::string::npos)
    return -1;
  std::istringstream in{status.substr(at + 8)};
  std::string k;
  int64_t v = 0;
  while (in >> k >> v)
    if (k == key)
      return v;
  return -1;
}

double secs_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

/// Creates a stepper on `node` and calls it once; the actor_died_error's
/// text ("" if none came within 30 s) and the seconds until the call ended.
std::pair<std::string, double> create_and_call(manta::node_id node, const std::string& dir) {
  auto t0 = steady::now();
  auto a = manta::actor<stepper>().node_affinity(node).remote(int64_t{1}, dir + "/calls.log");
  auto ref = a.call(&stepper::step).remote(int64_t{1}, int64_t{0});
  std::string why;
  try {
    manta::get(ref, 30s);
  } catch (const manta::actor_died_error& e) {
    why = e.what();
  }
  return {why, secs_since(t0)};
}

} // namespace

TEST_CASE("a driver paused past the connection timeout reconnects, its actors recover, and "
          "every call runs once or fails with a named error") {
  timeout_env env;
  manta::local_cluster c;
  auto log_a = c.dir() + "/worker-a.log";
  auto log_b = c.dir() + "/worker-b.log";
  c.add_worker(2, "", {}, log_a);
  c.add_worker(2, "", {}, log_b);
  auto status = c.dir() + "/driver.status";
  auto driver = c.spawn({"--paused-driver", c.dir()}, c.dir() + "/driver.log");
  REQUIRE(manta_test::wait_for_text(status, "ready", 60s));
  // The second round of 4 calls per actor is on its way: pause the driver
  // for twice the connection timeout, long enough that the workers and the
  // head close its links (each actor still has calls queued then). It is
  // the length of the fault, not a wait for a state: the workers' logs
  // then say that they noticed.
  REQUIRE(manta_test::wait_for_text(
    status, "submitted " + std::to_string(num_actors * (1 + 2 * calls_per_round)), 30s));
  REQUIRE(::kill(driver, SIGSTOP) == 0);
  auto stopped = steady::now();
  std::this_thread::sleep_for(2 * timeout);
  CHECK(manta_test::wait_for_text(log_a, "the connection to the owner of", 10s));
  CHECK(manta_test::wait_for_text(log_b, "the connection to the owner of", 10s));
  REQUIRE(::kill(driver, SIGCONT) == 0);
  auto resumed = steady::now();
  append(c.dir() + "/resumed", "yes");
  // Within the bound: every call completed or failed by name, a fresh round
  // to all 30 actors succeeded, and the driver shut down cleanly.
  bool reported = manta_test::wait_for_text(status, "summary",
                                            std::chrono::seconds{call_bound} + 20s);
  auto report_after = secs_since(resumed);
  int code = manta_test::exit_status(driver, reported ? 15s : 1s);
  auto text = manta_test::read_all(status);
  INFO("driver status:\n"
       << text << "\ndriver log:\n"
       << manta_test::read_all(c.dir() + "/driver.log") << "\nworker logs:\n"
       << manta_test::read_all(log_a) << manta_test::read_all(log_b) << "\nhead log:\n"
       << c.head_log());
  CHECK(reported);
  CHECK(code == 0);
  CHECK(text.find("shut down") != std::string::npos);
  CHECK(field(text, "hung") == 0);
  CHECK(field(text, "wrong") == 0);
  CHECK(field(text, "other") == 0);
  CHECK(field(text, "fresh_ok") == 1);
  CHECK(field(text, "rounds") >= 3);
  CHECK(field(text, "died") > 0); // the pause hit calls in flight
  // Every call that failed did so naming why: the actor died with its
  // node's connection, and restarts.
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("call ", 0) == 0) {
      INFO(line);
      CHECK(line.find("(fresh)") == std::string::npos);
      CHECK(line.find(" kind 2: actor stepper died while running this call") != std::string::npos);
      CHECK(line.find("node-") != std::string::npos);
    }
  // Each successful call ran exactly once, and no call more than once.
  auto runs = runs_of(c.dir() + "/calls.log");
  auto last = field(text, "last");
  int64_t ok_runs_wrong = 0;
  int64_t twice = 0;
  for (int64_t call = 0; call < last; ++call) {
    auto k = runs.count(call) > 0 ? runs.at(call) : 0;
    twice += k > 1;
    bool failed = text.find("call " + std::to_string(call) + " ") != std::string::npos;
    ok_runs_wrong += !failed && k != 1;
  }
  CHECK(twice == 0);
  CHECK(ok_runs_wrong == 0);
  // The workers took the driver back: it reconnected to both.
  auto driver_log = manta_test::read_all(c.dir() + "/driver.log");
  CHECK(driver_log.find("reconnected to node-") != std::string::npos);
  MESSAGE("paused " << std::chrono::duration<double>(resumed - stopped).count() << " s; "
                    << field(text, "calls") << " calls, " << field(text, "died")
                    << " failed as actor_died_error, the rest ran once; all reported "
                    << report_after << " s after the resume");
}

TEST_CASE("creating an actor on a worker that stopped answering fails within the connection "
          "timeout, naming the node") {
  timeout_env env;
  manta::local_cluster c;
  auto worker = c.add_worker(1);
  join_with_timeout(c);
  auto node = manta_test::worker_nodes(1).at(worker);
  // Stopped: its connections stay open, nothing answers.
  REQUIRE(::kill(worker, SIGSTOP) == 0);
  resume_at_end guard{worker};
  auto [why, took] = create_and_call(node, c.dir());
  INFO(why);
  CHECK(why.find("node-" + std::to_string(node)) != std::string::npos);
  CHECK(took < 5 * std::chrono::duration<double>(timeout).count());
  MESSAGE("the creation failed " << took << " s after the worker stopped: " << why);
}

TEST_CASE("creating an actor on a worker that takes the spec but never answers fails within "
          "twice the connection timeout, naming the node") {
  timeout_env env;
  manta::local_cluster c;
  join_with_timeout(c);
  c.spawn({"--mute-worker", c.dir()}, c.dir() + "/mute.log");
  REQUIRE(manta_test::wait_for_text(c.dir() + "/mute.index", "\n", 15s));
  auto node = static_cast<manta::node_id>(
    std::stoi(manta_test::read_word(c.dir() + "/mute.index")));
  c.wait_for_cpus(1);
  auto [why, took] = create_and_call(node, c.dir());
  INFO(why);
  CHECK(why.find("node-" + std::to_string(node) + " did not answer the creation")
        != std::string::npos);
  CHECK(took >= 2 * std::chrono::duration<double>(timeout).count());
  CHECK(took < 5 * std::chrono::duration<double>(timeout).count());
  // It answered pings all along: still connected, not cut off.
  CHECK(manta::cluster_resources()["CPU"] == 1);
  MESSAGE("the creation failed " << took << " s after it was asked for: " << why);
}

TEST_CASE("a get with a timeout bounds the fetch of an object held by a worker that stopped") {
  timeout_env env;
  manta::local_cluster c;
  auto worker = c.add_worker(1);
  join_with_timeout(c);
  auto ref = manta::task(big_result).remote();
  // Sealed here as held by the worker: reading it fetches its bytes.
  auto [ready, pending] = manta::wait(std::vector{ref}, 1, 30s);
  REQUIRE(ready.size() == 1);
  REQUIRE(::kill(worker, SIGSTOP) == 0);
  resume_at_end guard{worker};
  auto t0 = steady::now();
  std::string why;
  try {
    manta::get(ref, 300ms);
  } catch (const manta::get_timeout_error& e) {
    why = e.what();
  }
  auto took = secs_since(t0);
  INFO(why);
  CHECK(why.find("while fetching object") != std::string::npos);
  CHECK(took >= 0.3);
  CHECK(took < 0.8); // before the worker is even cut off (1 s)
  // Awake again: the object is read in full.
  ::kill(worker, SIGCONT);
  CHECK(manta::get(ref, 30s).size() == size_t{4} << 20);
  MESSAGE("get(ref, 300ms) on an object held by a stopped worker threw after " << took
                                                                               << " s: " << why);
}

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--paused-driver") == 0)
    return paused_driver_main(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "--mute-worker") == 0)
    return mute_worker_main(argv[2]);
  return manta_test::cluster_test_main(argc, argv);
}
