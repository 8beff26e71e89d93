// A head killed with -9 and replaced from its store (docs/cluster.md,
// "Head fault tolerance"), on loopback: a redis-server of the test's own,
// a head and two workers started with the store (MANTA_HEAD_STORE), this
// process the driver. The body is tests/head_replacement.hpp; here the new
// head listens on another port, which the workers and the driver learn from
// the store. And Redis stopped under a running head: it keeps working in memory, then
// writes everything again once Redis is back. Skips (77) without redis-server.
#include "tests/cluster_main.hpp"
#include "tests/head_replacement.hpp"
#include "tests/redis_server.hpp"
#include "tests/cluster_helpers.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>

using namespace std::chrono_literals;

namespace {

/// Waits (up to 10 s) until `file` names an address.
std::string wait_for_address(const std::string& file) {
  auto until = manta_test::steady::now() + 10s;
  std::string out;
  while (out.empty() && manta_test::steady::now() < until) {
    std::ifstream{file} >> out;
    if (out.empty())
      std::this_thread::sleep_for(10ms);
  }
  REQUIRE_MESSAGE(!out.empty(), "no head address in " << file);
  return out;
}

} // namespace

TEST_CASE("a head killed with -9 during a workload is replaced from the store: members and a "
          "named detached actor recovered, every result correct, a new worker joins") {
  manta_test::redis_server redis;
  // Every process this test starts inherits it: the head writes its state
  // there, the workers follow the head through it.
  ::setenv("MANTA_HEAD_STORE", redis.url().c_str(), 1);
  manta::local_cluster c;
  std::vector<std::string> logs;
  for (int k = 0; k < 2; ++k) {
    logs.push_back(c.dir() + "/worker" + std::to_string(k) + ".log");
    c.add_worker(1, "", {}, logs.back());
  }
  manta::init_options opts;
  opts.head_store = redis.url();
  c.join(0, opts);

  std::string head_file; // the replacement's address file, once started
  manta_test::head_replacement_hooks h;
  h.head_address = [&] { return head_file.empty() ? c.address() : wait_for_address(head_file); };
  h.head_log = [&] {
    return head_file.empty() ? c.head_log() : manta_test::read_all(c.dir() + "/head2.log");
  };
  h.kill_head = [&] {
    ::kill(c.head_pid(), SIGKILL);
    ::waitpid(c.head_pid(), nullptr, 0);
  };
  h.start_head = [&] {
    head_file = c.dir() + "/head2.address";
    c.spawn(
      {"--manta-head", "--manta-port=0", "--dashboard-port=0", "--manta-address-file=" + head_file},
      c.dir() + "/head2.log");
    wait_for_address(head_file);
  };
  h.add_worker = [&] { return c.spawn({"--manta-worker", "--num-cpus=1"}); };
  h.worker_logs = logs;
  h.dir = c.dir();
  h.token = c.token();
  auto fig = manta_test::run_head_replacement(h, 2000);
  ::unsetenv("MANTA_HEAD_STORE");
  MESSAGE("head killed when " << fig.ran_at_kill * 100 / 2000
                              << "% of 2000 tasks had run; since the kill: new head listening "
                              << fig.head_up_s << " s, both workers back " << fig.workers_back_s
                              << " s, first result on a worker that joined afterwards "
                              << fig.first_result_s << " s");
}

TEST_CASE("Redis stopped under a running head: the head keeps working in memory and writes its "
          "whole state again once Redis is back") {
  manta_test::redis_server redis;
  ::setenv("MANTA_HEAD_STORE", redis.url().c_str(), 1);
  manta::local_cluster c;
  c.add_worker(1);
  manta::init_options opts;
  opts.head_store = redis.url();
  c.join(0, opts);
  redis.stop();
  // A join needs no store: the worker joins, the driver hears of it.
  c.add_worker(1);
  c.wait_for_cpus(2);
  CHECK(manta_test::wait_for_line(c.dir() + "/head.log", "the head keeps working", 1, 10s));
  CHECK(manta::get(manta::task(manta_test::where_it_ran).remote(), 10s).second != ::getpid());
  redis.start(); // empty (no persistence): the head's next change fills it
  c.add_worker(1);
  c.wait_for_cpus(3);
  CHECK(manta_test::wait_for_line(c.dir() + "/head.log", "is back", 1, 10s));
  manta::detail::head_store store{manta::detail::parse_store_address("test", redis.url())};
  size_t workers = 0, drivers = 0;
  for (auto& [index, rec] : store.nodes())
    ++(rec.driver ? drivers : workers);
  CHECK(workers == 3);
  CHECK(drivers == 1);
  CHECK(store.next_index() == 5);
  auto head = store.head(); // where the head is: written again too
  REQUIRE(head);
  CHECK(head->address == c.address());
  ::unsetenv("MANTA_HEAD_STORE");
}

int main(int argc, char** argv) {
  if (!manta::is_cluster_process(argc, argv))
    manta_test::require_redis_or_skip("head_store_cluster_test");
  return manta_test::cluster_test_main(argc, argv);
}
