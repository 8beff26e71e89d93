// Fault injection on the head's links: a worker reaches the head through a
// TCP proxy of the test's (tests/tcp_proxy.hpp), which cuts that link
// during a run; and the head itself is killed during a run, then started
// again on its port. Workers and drivers outlive a lost head link: workers
// keep serving the drivers connected to them, and both join the head again
// under their index
// (docs/cluster.md, "Failure handling"). Every result must arrive, be
// correct and be seen once.
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client.hpp"
#include "manta/core/runtime.hpp"
#include "manta/net/transport.hpp"
#include "manta/net/wire.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/fault_workload.hpp"
#include "tests/head_workload.hpp"
#include "tests/tcp_proxy.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <csignal>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using manta_test::check_runs;
using manta_test::tcp_proxy;
using manta_test::wait_for_line;
using manta_test::workload;

namespace {

uint16_t port_of(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

/// The live workers the head at `port` lists, by index (asked directly,
/// as `manta status` does).
std::set<uint16_t> listed_workers(uint16_t port, const std::string& token) {
  auto& rt = manta::detail::runtime::require("listed_workers");
  auto head = manta::detail::connect(rt.system(), "127.0.0.1", port, 5s);
  REQUIRE(head);
  caf::scoped_actor self{rt.system()};
  std::set<uint16_t> out;
  self->request(*head, 5s, manta::actors::nodes_atom::value, token)
    .receive(
      [&](const manta::detail::wire::bytes& b) {
        manta::detail::wire::cluster_view view;
        REQUIRE(manta::detail::wire::decode(b, view) == "");
        for (auto& n : view.nodes)
          out.insert(n.index);
      },
      [&](caf::error& err) { FAIL("the head did not answer: " << caf::to_string(err)); });
  return out;
}

} // namespace

TEST_CASE("a worker whose link to the head is cut joins again under its index; the driver "
          "takes it back and every result arrives once") {
  const int n = 3000;
  const int max_retries = 5;
  manta::local_cluster c;
  tcp_proxy head_link{port_of(c.address())};
  auto proxied_log = c.dir() + "/proxied.log";
  auto proxied = c.add_worker(1, "", {"--address=127.0.0.1:" + std::to_string(head_link.port())},
                              proxied_log);
  auto direct = c.add_worker(1);
  c.join(0);
  REQUIRE(head_link.stats().accepted == 1);
  auto before = manta_test::worker_nodes(2);
  REQUIRE(before.size() == 2);
  auto log = c.dir() + "/runs.log";
  workload w{n, log, before.at(proxied), 5, max_retries};
  auto ran_at_cut = w.wait_for_a_fifth();
  REQUIRE(head_link.cut() == 1);
  // The head tells the driver the node left; the node joins again through
  // the proxy and the head announces it again.
  CHECK(wait_for_line(proxied_log, "joined the head again", 1, 15s));
  c.wait_for_cpus(2);
  CHECK(w.wrong() == 0);
  CHECK(ran_at_cut < static_cast<size_t>(n)); // the cut hit the run
  // Only the tasks in flight on the node when the driver cut it off ran
  // twice (at most its window).
  auto extra = check_runs(log, n, 1 + max_retries);
  CHECK(extra <= static_cast<int64_t>(manta::actors::remote_queue_factor));
  // Same processes, same indices, all alive; the head lists both.
  auto after = manta_test::worker_nodes(2);
  CHECK(after == before);
  CHECK(::kill(proxied, 0) == 0);
  CHECK(::kill(direct, 0) == 0);
  CHECK(listed_workers(port_of(c.address()), c.token())
        == std::set<uint16_t>{static_cast<uint16_t>(before.at(proxied)),
                              static_cast<uint16_t>(before.at(direct))});
  CHECK(head_link.stats().accepted == 2);
  CHECK(c.head_log().find("refused") == std::string::npos);
  MESSAGE("head link cut when " << ran_at_cut * 100 / n << "% of " << n << " tasks had run; "
                                << extra << " re-runs");
}

TEST_CASE("with the head killed the workers keep serving the driver, and both join the head "
          "again when it is started on its port") {
  const int n = 3000;
  const int max_retries = 3;
  manta::local_cluster c;
  std::vector<pid_t> workers;
  std::vector<std::string> logs;
  for (int k = 0; k < 2; ++k) {
    logs.push_back(c.dir() + "/worker" + std::to_string(k) + ".log");
    workers.push_back(c.add_worker(1, "", {}, logs.back()));
  }
  c.join(0);
  auto nodes = manta_test::worker_nodes(2);
  REQUIRE(nodes.size() == 2);
  auto log = c.dir() + "/runs.log";
  workload w{n, log, nodes.at(workers[0]), 9, max_retries};
  auto ran_at_kill = w.wait_for_a_fifth();
  ::kill(c.head_pid(), SIGKILL);
  ::waitpid(c.head_pid(), nullptr, 0);
  auto killed = steady::now();
  std::string steps; // how long each step took, for the message
  auto step = [&, last = killed](const char* what) mutable {
    steps += std::string{" "} + what + " "
             + std::to_string(std::chrono::duration<double>(steady::now() - last).count()) + " s;";
    last = steady::now();
  };
  // Nothing of the run depended on the head: no task ran twice.
  CHECK(w.wrong() == 0);
  CHECK(ran_at_kill < static_cast<size_t>(n));
  CHECK(check_runs(log, n, 1) == 0);
  step("results");
  for (auto& l : logs)
    CHECK(wait_for_line(l, "lost its connection to the head", 1, 10s));
  CHECK(manta::cluster_resources()["CPU"] == 2);
  // A head started again on the port with the cluster's token (spawn gives
  // it in the environment) takes both workers back under their indices.
  auto port = port_of(c.address());
  c.spawn({"--manta-head", "--manta-port=" + std::to_string(port), "--dashboard-port=0",
           "--manta-address-file=" + c.dir() + "/head2.address"},
          c.dir() + "/head2.log");
  for (auto& l : logs)
    CHECK(wait_for_line(l, "joined the head again", 1, 20s));
  step("workers rejoined");

  std::set<uint16_t> expected;
  for (auto& [pid, node] : nodes)
    expected.insert(static_cast<uint16_t>(node));
  CHECK(listed_workers(port, c.token()) == expected);
  step("listed");
  for (auto pid : workers)
    CHECK(::kill(pid, 0) == 0);
  // The driver joined it again too: it hears of a worker that joins now.
  auto late = c.add_worker(1);
  c.wait_for_cpus(3);
  step("late worker seen");
  auto all = manta_test::worker_nodes(3);
  CHECK(all.count(late) == 1);
  CHECK(expected.count(static_cast<uint16_t>(all[late])) == 0); // a fresh index
  CHECK(manta::get(manta::task(manta_test::work).remote(int64_t{12}, log), 10s) == 12 * 12 + 7);
  step("tasks");
  MESSAGE("head killed when " << ran_at_kill * 100 / n << "% of " << n
                              << " tasks had run; all results arrived, none ran twice; since "
                                 "the kill:"
                              << steps);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
