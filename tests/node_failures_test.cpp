// A task that kills the node it runs on (as the kernel's OOM killer kills a
// node whose task takes all memory) is not retried onto every node: with
// three workers it is tried on two, then fails with node_died_error, and
// the third worker lives on and serves the next task.
#include <manta/manta.hpp>

#include "tests/attempt_log.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Writes its process id to `log`, then kills its own process with
/// SIGKILL, the signal the OOM killer sends.
int kill_my_node(std::string log) {
  {
    std::ofstream out{log, std::ios::app};
    out << ::getpid() << "\n";
  }
  ::raise(SIGKILL);
  return 0;
}

MANTA_REMOTE(kill_my_node);

using manta_test::pids_in;

/// Whether the child `pid` has died (a zombie until local_cluster reaps it).
bool dead(pid_t pid) {
  auto stat = manta_test::read_all("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z'
         || stat[paren + 2] == 'X';
}

} // namespace

TEST_CASE("a task that kills its node is tried on 2 of 3 nodes, then fails with "
          "node_died_error; the last node serves on") {
  manta::local_cluster c;
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w)
    workers.push_back(c.add_worker(1));
  c.join(0); // the driver runs nothing itself
  auto log = c.dir() + "/kills.log";
  // max_retries(3) would allow 4 tries: the bound on node deaths (2 by
  // default) stops it first.
  auto ref = manta::task(kill_my_node).max_retries(3).remote(log);
  std::string message;
  try {
    manta::get(ref, 20s);
    FAIL("the task returned");
  } catch (const manta::node_died_error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("task 'kill_my_node'") == 0);
  CHECK(message.find("when that node died, 2 times") != std::string::npos);
  CHECK(message.find("it may be what kills nodes") != std::string::npos);
  CHECK(message.find(".max_node_failures(n)") != std::string::npos);
  auto tried = pids_in(log);
  REQUIRE(tried.size() == 2);
  CHECK(tried[0] != tried[1]);
  std::vector<pid_t> alive;
  for (auto pid : workers) {
    if (std::find(tried.begin(), tried.end(), pid) == tried.end()) {
      CHECK_FALSE(dead(pid));
      alive.push_back(pid);
      continue;
    }
    // The last one may still be on its way out when the driver sees its
    // connection close.
    auto until = std::chrono::steady_clock::now() + 5s;
    while (!dead(pid) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(5ms);
    CHECK(dead(pid));
  }
  REQUIRE(alive.size() == 1);
  // The survivor serves the next task.
  auto [node, pid] = manta::get(manta::task(manta_test::where_it_ran).remote(), 10s);
  CHECK(pid == alive[0]);
  CHECK(node != 0);
}

TEST_CASE("max_node_failures(-1) leaves the bound to max_retries") {
  manta::local_cluster c;
  for (int w = 0; w < 3; ++w)
    c.add_worker(1);
  c.join(0);
  auto log = c.dir() + "/kills.log";
  auto ref = manta::task(kill_my_node).max_retries(2).max_node_failures(-1).remote(log);
  CHECK_THROWS_AS(manta::get(ref, 20s), manta::object_lost_error);
  CHECK(pids_in(log).size() == 3);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
