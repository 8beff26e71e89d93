// A head killed with -9 and replaced from its store across separate network
// hosts (tests/netns.hpp; docs/cluster.md "Head fault tolerance" and
// "Across hosts"): a redis-server on a namespace of its own, the head on
// another, two one-CPU workers and this process (the driver) on others,
// every process with --node-ip-address and the store. The body is
// tests/head_replacement.hpp, as on loopback (head_store_cluster_test):
// during a workload the head is killed with -9, and the new head is started
// on ANOTHER namespace, so at another address that the workers and the
// driver can only learn from the store; a named detached actor still
// answers by name, a worker started afterwards (given only the store) joins,
// every result correct and no task run twice. Skips (77) when namespaces
// cannot be made (not root) or redis-server is missing.
#include "tests/cluster_main.hpp"
#include "tests/head_replacement.hpp"
#include "tests/netns_cluster.hpp"
#include "tests/netns_keep_logs.hpp"
#include "tests/netns_main.hpp"

#include <cstdio>
#include <string>
#include <vector>

using manta_test::netns_cluster;
using manta_test::netns_network;

namespace {

// The nodes: one role each.
constexpr size_t redis_node = 0, first_head = 1, worker_a = 2, worker_b = 3, driver = 4,
                 second_head = 5, late_worker = 6;

} // namespace

TEST_CASE("across namespaces, a head killed with -9 during a workload is replaced from the store "
          "on another host: a named detached actor answers by name, a new worker joins, every "
          "result correct") {
  netns_cluster c{7};
  auto store = c.start_redis(redis_node);
  auto with_store = std::vector<std::string>{"--head-store=" + store};
  auto head_pid = c.start_head(first_head, with_store);
  CHECK(c.address().rfind(netns_network::ip(first_head) + ":", 0) == 0);
  c.add_worker(worker_a, 1, with_store);
  c.add_worker(worker_b, 1, with_store);
  manta::init_options opts;
  opts.head_store = store;
  c.join(driver, opts);

  manta_test::head_replacement_hooks h;
  h.head_address = [&] { return c.address(); };
  // Both heads write to the same log (appended): the replacement's lines
  // come after the first's, which never recovered anything (empty store).
  h.head_log = [&] { return manta_test::read_all(c.log_of("head")); };
  h.kill_head = [&] { c.net().kill(head_pid); };
  h.start_head = [&] { head_pid = c.start_head(second_head, with_store); };
  h.add_worker = [&] {
    std::vector<std::string> args{"--manta-worker",
                                  "--node-ip-address=" + netns_network::ip(late_worker),
                                  "--num-cpus=1", "--head-store=" + store};
    for (auto& f : c.common_flags())
      args.push_back(f);
    return c.spawn(late_worker, args, "node" + std::to_string(late_worker));
  };
  h.worker_logs = {c.log_of("node" + std::to_string(worker_a)),
                   c.log_of("node" + std::to_string(worker_b))};
  h.dir = c.dir();
  h.token = c.token();
  auto fig = manta_test::run_head_replacement(h, 2000);
  // The new head is on the other host, and says so in the store.
  CHECK(c.address().rfind(netns_network::ip(second_head) + ":", 0) == 0);
  MESSAGE("head on " << netns_network::ip(first_head) << " killed when "
                     << fig.ran_at_kill * 100 / 2000 << "% of 2000 tasks had run; since the kill: "
                     << "new head on " << netns_network::ip(second_head) << " listening "
                     << fig.head_up_s << " s, both workers back " << fig.workers_back_s
                     << " s, first result on a worker that joined afterwards " << fig.first_result_s
                     << " s");
}

int main(int argc, char** argv) {
  return manta_test::netns_test_main(argc, argv, "netns_head", [] {
    return netns_cluster::redis_server_path().empty()
             ? std::string{"redis-server is not installed (tools/setup.sh installs Debian's "
                           "redis-server)"}
             : std::string{};
  });
}
