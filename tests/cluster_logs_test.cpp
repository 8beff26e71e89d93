// Logs of tasks that ran on other nodes: what a task prints on a worker
// reaches the driver while the task runs, printed there with the task's
// name and the worker's node and pid, and kept for manta::task_logs in
// the order it was printed. This binary is the head, the workers and the
// driver (see cluster_main.hpp); only the driver's streams go to the sinks.

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/task_answer.hpp"

#include <manta/cluster/cluster.hpp>
#include <manta/core/codec.hpp>
#include <manta/sched/function_registry.hpp>
#include <manta/core/job_id.hpp>
#include <manta/core/runtime.hpp>
#include <manta/net/wire.hpp>
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"
#include "actors/hosted_results.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace wire = manta::detail::wire;

namespace {

/// What the driver's std::cout and std::cerr receive (installed before the
/// first init, so the runtime's log capture writes here). Read only after
/// the tasks whose lines they hold are done: the lines of a task reach the
/// driver before its result.
std::stringstream& out_sink() {
  static std::stringstream s;
  return s;
}

std::stringstream& err_sink() {
  static std::stringstream s;
  return s;
}

void clear_sinks() {
  out_sink().str("");
  err_sink().str("");
}

/// The `i`th line a task tagged `tag` prints on node `node`.
std::string line_text(const std::string& tag, int i, int node) {
  return tag + " line " + std::to_string(i) + " on node-" + std::to_string(node);
}

/// Whether the `i`th line goes to std::cerr (every third does).
bool to_stderr(int i) {
  return i % 3 == 2;
}

/// Prints `n` lines (every third to std::cerr, each with one `<<`: std::cerr
/// flushes after every insertion); says which node and process ran it.
std::pair<int, int> chatty(std::string tag, int n) {
  auto node = static_cast<int>(manta::current_node());
  for (int i = 0; i < n; ++i)
    (to_stderr(i) ? std::cerr : std::cout) << line_text(tag, i, node) + "\n";
  return {node, static_cast<int>(::getpid())};
}

/// Prints a line, works for `ms`, prints another.
int slow_chatty(int ms) {
  std::cout << "started\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::cout << "finished\n";
  return static_cast<int>(manta::current_node());
}

/// Prints nothing.
int quiet_echo(int x) {
  return x;
}

/// Prints an unfinished line (emitted when the run ends, after the seal).
int unfinished_line(int x) {
  std::cout << "no newline " << x;
  return x;
}

/// Results this process answered from the thread that ran the task
/// (actors::early_answer), counted before this task's own.
uint64_t direct_answers(int) {
  return manta::actors::early_answers();
}

MANTA_REMOTE(chatty, slow_chatty, quiet_echo, unfinished_line, direct_answers);

std::vector<std::string> expected_lines(const std::string& tag, int n, int node) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(line_text(tag, i, node));
  return out;
}

/// The prefix a line of `chatty` run on `node` by process `pid` has on the
/// driver: the one local lines have, naming that node, and the driver's
/// job (the head's id).
std::string prefix(const std::string& task, int node, int pid) {
  return "(" + task + " node-" + std::to_string(node) + " (pid " + std::to_string(pid) + ") "
         + manta::detail::job_id() + ") ";
}

/// Checks that every line of `tag` reached the driver's stream it was
/// printed to, prefixed, in order.
void check_surfaced(const std::string& tag, int n, std::pair<int, int> where) {
  auto [node, pid] = where;
  size_t out_at = 0;
  size_t err_at = 0;
  auto out = out_sink().str();
  auto err = err_sink().str();
  for (int i = 0; i < n; ++i) {
    CAPTURE(i);
    auto want = prefix("chatty", node, pid) + line_text(tag, i, node) + "\n";
    auto& text = to_stderr(i) ? err : out;
    auto& at = to_stderr(i) ? err_at : out_at;
    auto found = text.find(want, at);
    REQUIRE_MESSAGE(found != std::string::npos, "missing or out of order on the driver's "
                                                  << (to_stderr(i) ? "stderr" : "stdout") << ": "
                                                  << want);
    at = found + want.size();
  }
}

/// Joins `c` (one 1-CPU worker, no CPUs here) and returns that worker's
/// node manager, which a case then talks to as the owner of a task.
caf::actor one_worker_manager(manta::local_cluster& c) {
  c.add_worker(1);
  c.join(0);
  auto manager = manta_test::only_worker_manager(c.token());
  REQUIRE(manager);
  return *manager;
}

} // namespace

TEST_CASE("lines of tasks on worker nodes reach the driver, prefixed with the node, in order") {
  manta::local_cluster c;
  auto pid1 = c.add_worker(1);
  auto pid2 = c.add_worker(1);
  c.join(/*local_cpus=*/0); // the driver runs nothing itself
  REQUIRE(manta::detail::job_id().rfind("job-", 0) == 0); // in every line's prefix
  clear_sinks();
  auto a = manta::task(chatty).spread().remote("alpha", 7);
  auto b = manta::task(chatty).spread().remote("beta", 5);
  auto where_a = manta::get(a, 10s);
  auto where_b = manta::get(b, 10s);
  // Two spread tasks: one on each worker, neither on the driver.
  CHECK(where_a.second != where_b.second);
  for (auto [node, pid] : {where_a, where_b}) {
    CHECK(node != static_cast<int>(manta::current_node()));
    CHECK((pid == pid1 || pid == pid2));
  }
  CHECK(manta::task_logs(a.id()) == expected_lines("alpha", 7, where_a.first));
  CHECK(manta::task_logs(b.id()) == expected_lines("beta", 5, where_b.first));
  check_surfaced("alpha", 7, where_a);
  check_surfaced("beta", 5, where_b);
  // Pinned to a worker: the same.
  auto pinned = manta::task(chatty)
                  .node_affinity(static_cast<manta::node_id>(where_b.first))
                  .remote("gamma", 3);
  CHECK(manta::get(pinned, 10s) == where_b);
  CHECK(manta::task_logs(pinned.id()) == expected_lines("gamma", 3, where_b.first));
  check_surfaced("gamma", 3, where_b);
}

TEST_CASE("lines reach the driver while the remote task still runs") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0);
  auto r = manta::task(slow_chatty).remote(3000);
  auto deadline = std::chrono::steady_clock::now() + 2500ms;
  std::vector<std::string> seen;
  bool was_running = false;
  while (seen.empty() && std::chrono::steady_clock::now() < deadline) {
    was_running = !r.ready();
    seen = manta::task_logs(r.id());
    std::this_thread::sleep_for(5ms);
  }
  CHECK(was_running);
  CHECK(seen == std::vector<std::string>{"started"});
  CHECK(manta::get(r, 10s) != static_cast<int>(manta::current_node()));
  CHECK(manta::task_logs(r.id()) == std::vector<std::string>{"started", "finished"});
}

TEST_CASE("a remote task keeps 1,000 lines on the driver and prints them all") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0);
  clear_sinks();
  auto r = manta::task(chatty).remote("many", 1500);
  auto where = manta::get(r, 10s);
  auto kept = manta::task_logs(r.id());
  auto all = expected_lines("many", 1500, where.first);
  CHECK(kept == std::vector<std::string>(all.begin(), all.begin() + 1000));
  check_surfaced("many", 1500, where);
}

TEST_CASE("with log_prefix off the driver prints remote lines unchanged and keeps none") {
  manta::local_cluster c;
  c.add_worker(1);
  manta::init_options opts;
  opts.log_prefix = false;
  c.join(0, opts);
  clear_sinks();
  auto r = manta::task(chatty).remote("plain", 2);
  auto where = manta::get(r, 10s);
  CHECK(manta::task_logs(r.id()).empty());
  CHECK(out_sink().str()
        == line_text("plain", 0, where.first) + "\n" + line_text("plain", 1, where.first) + "\n");
}

TEST_CASE("a worker with log_prefix off captures nothing, so nothing reaches the driver") {
  manta::local_cluster c;
  // add_worker, not spawn: join then waits for its CPU (with spawn it
  // waited for exactly 0 CPUs, which failed whenever the worker was faster).
  c.add_worker(1, "", {"--log-prefix=off"});
  c.join(0);
  clear_sinks();
  auto r = manta::task(chatty).remote("quiet", 3);
  auto where = manta::get(r, 10s);
  CHECK(where.first != static_cast<int>(manta::current_node()));
  CHECK(manta::task_logs(r.id()).empty());
  CHECK(out_sink().str().find("quiet") == std::string::npos);
  CHECK(err_sink().str().find("quiet") == std::string::npos);
}

TEST_CASE("a node manager sends its owner a task's lines with the token, before the result") {
  manta::local_cluster c;
  auto manager = one_worker_manager(c);
  caf::scoped_actor self{manta::detail::runtime::require("test").system()};
  // Act as the owner: send a TaskSpec to the worker's node manager.
  auto worker = manta_test::sole_worker_node();
  auto t = manta_test::task_spec(0xbeef, "chatty", std::string{"direct"}, 4);
  self->send(manager, manta::actors::submit_atom::value, c.token(), wire::encode(t));
  std::vector<wire::log_line> lines;
  bool done = false;
  while (!done) {
    self->receive(
      [&](manta::actors::logs_atom, const std::string& token, const wire::bytes& b) {
        CHECK(token == c.token());
        wire::log_batch batch;
        REQUIRE(wire::decode(b, batch) == "");
        CHECK(batch.node.rfind("node-" + std::to_string(worker) + " (pid ", 0) == 0);
        CHECK(batch.dropped == 0);
        lines.insert(lines.end(), batch.lines.begin(), batch.lines.end());
      },
      [&](manta::actors::result_atom, const std::string& token, const wire::bytes&) {
        CHECK(token == c.token());
        done = true;
      },
      caf::after(10s) >>
        [&] {
          FAIL("no result");
          done = true;
        });
  }
  REQUIRE(lines.size() == 4); // all of them before the result
  for (int i = 0; i < 4; ++i) {
    CHECK(lines[i].task_id == 0xbeef);
    CHECK(lines[i].to_stderr == to_stderr(i));
    CHECK(lines[i].text == line_text("direct", i, worker));
  }
}

TEST_CASE(
  "a lone quiet task is answered by the thread that ran it; a printing one after its lines") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0);
  clear_sinks();
  // One task at a time: each is the only one the worker counts as hosted
  // when it ends (the thread that answered the one before took it off
  // the count before its result left).
  auto count = [] { return manta::get(manta::task(direct_answers).remote(0), 10s); };
  auto before = count();
  CHECK(manta::get(manta::task(quiet_echo).remote(7), 10s) == 7);
  auto after_quiet = count();
  CHECK(after_quiet == before + 2); // the quiet task and the first count
  // A task that printed: its result follows its lines through the node
  // manager, and the lines are on the driver when get returns.
  auto printed = manta::task(chatty).remote("delta", 3);
  auto where = manta::get(printed, 10s);
  CHECK(manta::task_logs(printed.id()) == expected_lines("delta", 3, where.first));
  check_surfaced("delta", 3, where);
  CHECK(count() == after_quiet + 1); // only the second count
  // An unfinished line counts too (it is shipped when the run ends).
  CHECK(manta::get(manta::task(unfinished_line).remote(5), 10s) == 5);
  CHECK(count() == after_quiet + 2);
  // Many at once: results go through the node manager in batches; every
  // one arrives, once.
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 200; ++i)
    refs.push_back(manta::task(quiet_echo).remote(i));
  auto values = manta::get(refs, 20s);
  for (int i = 0; i < 200; ++i)
    CHECK(values[static_cast<size_t>(i)] == i);
}

TEST_CASE("a direct answer carries the token and comes as from the worker's node manager") {
  manta::local_cluster c;
  auto manager = one_worker_manager(c);
  caf::scoped_actor self{manta::detail::runtime::require("test").system()};
  auto t = manta_test::task_spec(0xfeed, "quiet_echo", 41);
  self->send(manager, manta::actors::submit_atom::value, c.token(), wire::encode(t));
  manta_test::task_answer r;
  bool done = manta_test::receive_answer(self, r, 10s);
  if (!done)
    FAIL("no result");
  CHECK(r.token == c.token());
  CHECK(r.sender == caf::actor_cast<caf::strong_actor_ptr>(manager));
  REQUIRE(r.undecodable == "");
  CHECK(r.task_id == 0xfeed);
  CHECK(r.kind == wire::result_message::inline_value);
  int value = 0;
  REQUIRE(!manta::detail::decode(std::span<const char>{r.value.data(), r.value.size()}, value));
  CHECK(value == 41);
  CHECK(done);
}

int main(int argc, char** argv) {
  static std::ostream terminal{std::cout.rdbuf()};
  return manta_test::cluster_test_main(argc, argv, [](doctest::Context& ctx) {
    std::cout.rdbuf(out_sink().rdbuf());
    std::cerr.rdbuf(err_sink().rdbuf());
    ctx.setCout(&terminal);
  });
}
