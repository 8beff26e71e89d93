// A cluster across separate network hosts: one network namespace per node
// (tests/netns.hpp), each with its own address on a bridge, running a real
// head, real workers and this process as the driver, all with
// --node-ip-address. Tasks, actors and large objects over the raw data path
// between them; a worker killed with -9; a worker partitioned for longer
// than the connection timeout, then healed; delay and loss (tc netem, or
// where the kernel has none the harness's packet-level fallback on the
// bridge: tests/netem_relay.hpp). Skips (77) when namespaces cannot be
// made (not root), and the netem cases when neither is there.
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/fault_workload.hpp"
#include "tests/netem_relay.hpp"
#include "tests/netns_cluster.hpp"
#include "tests/netns_keep_logs.hpp"
#include "tests/netns_main.hpp"
#include "tests/running_total_actor.hpp"

#include "manta/net/object_transfer.hpp"

#include <manta/manta.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <numeric>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using manta_test::netns_cluster;
using manta_test::netns_network;

namespace {

std::vector<char> make_bytes(int64_t n) {
  std::vector<char> out(static_cast<size_t>(n));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(i * 31 + 7);
  return out;
}

int64_t checksum(const std::vector<char>& v) {
  int64_t sum = 0;
  for (size_t i = 0; i < v.size(); i += 4093)
    sum += static_cast<unsigned char>(v[i]);
  return sum + static_cast<int64_t>(v.size());
}

MANTA_REMOTE(make_bytes, checksum);


bool log_has(const std::string& log, const std::string& text, size_t times,
             std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    auto all = manta_test::read_all(log);
    size_t seen = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1))
      ++seen;
    if (seen >= times)
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

/// `n` logged tasks and a call every 10th task of a restartable actor
/// placed softly on `node`; checks every result (each read with a
/// deadline) and that every task ran; returns the wrong results.
struct workload {
  std::string log;
  manta::actor_handle<manta_test::tally> actor;
  std::vector<manta::object_ref<int64_t>> tasks, calls;

  workload(int n, std::string log_file, manta::node_id node, int calls_every = 10)
    : log(std::move(log_file)), actor(manta::actor<manta_test::tally>()
                                        .node_affinity(node, true)
                                        .max_restarts(-1)
                                        .max_task_retries(-1)
                                        .remote(int64_t{3})) {
    for (int64_t i = 0; i < n; ++i) {
      tasks.push_back(manta::task(manta_test::work).max_retries(10).remote(i, log));
      if (i % calls_every == 0)
        calls.push_back(actor.call(&manta_test::tally::step).remote(i));
    }
  }

  void wait_for_share(size_t share) const {
    auto until = std::chrono::steady_clock::now() + 30s;
    while (manta_test::lines_in(log) < tasks.size() / share
           && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(1ms);
  }

  int64_t wrong(int calls_every = 10) {
    int64_t out = 0;
    for (size_t i = 0; i < tasks.size(); ++i) {
      auto x = static_cast<int64_t>(i);
      out += manta::get(tasks[i], 60s) != x * x + 7;
    }
    for (size_t k = 0; k < calls.size(); ++k) {
      auto x = static_cast<int64_t>(k) * calls_every;
      out += manta::get(calls[k], 60s) != 3 * 1000003 + x * x;
    }
    auto runs = manta_test::runs_of(log).first;
    CHECK(runs.size() == tasks.size()); // every task ran, at least once
    return out;
  }
};

/// The cluster of the fault and netem cases, as `start_two_workers` made it.
struct two_workers {
  /// The worker on host 1.
  pid_t on_1 = 0;
  /// The worker on host 2.
  pid_t on_2 = 0;
  /// Each worker's node (by pid), as the driver sees it.
  std::map<int, manta::node_id> nodes;
};

/// Starts the head on host 0 and a worker of one CPU on each of hosts 1 and
/// 2 of `c` (four hosts), and joins this driver on host 3, so that a fault
/// of one worker's host leaves the other to run the work; requires that the
/// driver reaches both workers.
two_workers start_two_workers(netns_cluster& c) {
  two_workers out;
  c.start_head(0);
  out.on_1 = c.add_worker(1, 1);
  out.on_2 = c.add_worker(2, 1);
  c.join(3);
  out.nodes = manta_test::worker_nodes(2);
  REQUIRE(out.nodes.size() == 2);
  return out;
}

} // namespace

TEST_CASE("tasks, actors and large objects between namespaces, each node on its own address") {
  netns_cluster c{3};
  c.start_head(0);
  CHECK(c.address().rfind(netns_network::ip(0) + ":", 0) == 0);
  c.add_worker(1, 2);
  c.join(2);
  // The worker published its node manager on its own address.
  CHECK(manta_test::only_worker_address().rfind(netns_network::ip(1) + ":", 0) == 0);
  // Tasks run on the worker (the driver has no CPUs) and come back.
  auto [node, pid] = manta::get(manta::task(manta_test::where_it_ran).remote(), 10s);
  CHECK(node != static_cast<int>(manta::current_node()));
  CHECK(pid != ::getpid());
  std::vector<manta::object_ref<int64_t>> refs;
  for (int64_t i = 0; i < 200; ++i)
    refs.push_back(manta::task(manta_test::work).remote(i, c.dir() + "/runs.log"));
  int64_t sum = 0;
  for (auto& r : refs)
    sum += manta::get(r, 10s);
  CHECK(sum == 199 * 200 * 399 / 6 + 7 * 200);
  // An actor on the worker keeps its state across calls.
  auto a = manta::actor<running_total>().remote(10);
  for (int k = 1; k < 5; ++k)
    manta::get(a.call(&running_total::add).remote(k), 10s);
  CHECK(manta::get(a.call(&running_total::add).remote(0), 10s) == 20);
  // A large result stays on the worker and is read over the raw data path
  // from the worker's address; a large argument the driver put is read by
  // the worker from the driver's.
  const int64_t big = 24 << 20;
  auto made = manta::task(make_bytes).remote(big);
  auto bytes = manta::get(made, 30s);
  CHECK(bytes == make_bytes(big));
  CHECK(manta::get(manta::task(checksum).remote(made), 30s) == checksum(bytes)); // on the worker
  auto served = manta::detail::bytes_served();
  auto put = manta::put(make_bytes(big / 2));
  CHECK(manta::get(manta::task(checksum).remote(put), 30s) == checksum(make_bytes(big / 2)));
  // The worker read those bytes from this process's transfer server, at
  // the driver's address in its namespace.
  CHECK(manta::detail::bytes_served() - served >= static_cast<uint64_t>(big / 2));
  // Nothing fell back to 127.0.0.1 or failed on the way.
  auto worker_log = manta_test::read_all(c.log_of("node1"));
  CHECK(worker_log.find("listening at " + netns_network::ip(1)) != std::string::npos);
  CHECK(worker_log.find("cannot") == std::string::npos);
  CHECK(worker_log.find("refus") == std::string::npos);
}

TEST_CASE("a bad --node-ip-address and plain TCP off loopback are refused, naming the flag") {
  netns_cluster c{2};
  // An address no interface of that namespace has.
  auto other = c.spawn(0,
                       {"--manta-head", "--manta-port=0", "--node-ip-address=10.213.0.2",
                        "--manta-address-file=" + c.dir() + "/x.address"},
                       "other");
  CHECK(manta_test::exit_status(other) != 0);
  auto log = manta_test::read_all(c.log_of("other"));
  CHECK(log.find("--node-ip-address=10.213.0.2: not an address of this machine")
        != std::string::npos);
  auto name = c.spawn(0, {"--manta-head", "--node-ip-address=head.example"}, "name");
  CHECK(manta_test::exit_status(name) != 0);
  CHECK(manta_test::read_all(c.log_of("name"))
          .find("--node-ip-address=head.example: not an "
                "IP address")
        != std::string::npos);
  // Plain TCP on the node's network address: refused without
  // --trusted-network, accepted with it (and a warning, once).
  auto plain = c.spawn(0,
                       {"--manta-head", "--manta-port=0", "--transport=plain",
                        "--node-ip-address=" + netns_network::ip(0),
                        "--manta-address-file=" + c.dir() + "/y.address"},
                       "plain");
  CHECK(manta_test::exit_status(plain) == 2);
  CHECK(manta_test::read_all(c.log_of("plain")).find("with --transport=plain")
        != std::string::npos);
  c.start_head(0, {"--transport=plain", "--trusted-network"});
  c.add_worker(1, 1, {"--transport=plain", "--trusted-network"});
  CHECK(log_has(c.log_of("node1"), "joined the cluster", 1, 10s));
  auto head = manta_test::read_all(c.log_of("head"));
  auto first = head.find("warning: listening on " + netns_network::ip(0));
  CHECK(first != std::string::npos);
  CHECK(head.find("warning:", first + 1) == std::string::npos);
  CHECK(
    manta_test::read_all(c.log_of("node1")).find("warning: listening on " + netns_network::ip(1))
    != std::string::npos);
}

TEST_CASE("a worker killed with -9 in another namespace: its work is redone, every result "
          "correct") {
  netns_cluster c{4};
  auto workers = start_two_workers(c);
  workload w{2000, c.dir() + "/runs.log", workers.nodes.at(workers.on_1)};
  w.wait_for_share(5);
  c.kill_worker(workers.on_1, 1);
  CHECK(w.wrong() == 0);
  CHECK(c.wait_for_cpus(1));
}

TEST_CASE("a worker partitioned longer than the connection timeout, then healed: every "
          "result once, none lost, and the worker is back") {
  netns_cluster c{4, 2s}; // connection timeout 2 s (short, yet above a loaded machine's pauses)
  auto workers = start_two_workers(c);
  workload w{3000, c.dir() + "/runs.log", workers.nodes.at(workers.on_1)};
  w.wait_for_share(5);
  c.net().partition(1);
  auto cut_at = std::chrono::steady_clock::now();
  // Over two connection timeouts: the driver and the worker both give up on
  // the silent connections; the driver places the rest on the other node.
  CHECK(log_has(c.log_of("node1"), "lost its connection to the head", 1, 10s));
  while (std::chrono::steady_clock::now() - cut_at < 5s)
    std::this_thread::sleep_for(10ms);
  c.net().heal(1);
  CHECK(w.wrong() == 0);
  // The worker joins the head again under its index and the driver takes
  // it back: both nodes run tasks again.
  CHECK(log_has(c.log_of("node1"), "joined the head again", 1, 30s));
  CHECK(c.wait_for_cpus(2, 30s));
  CHECK(manta_test::worker_nodes(2) == workers.nodes);
  CHECK(::kill(workers.on_1, 0) == 0);
}

TEST_CASE("a worker only the driver lost (the head still lists it): a task only it fits waits "
          "for the reconnect instead of failing as one that can never run") {
  netns_cluster c{3, 2s};
  c.start_head(0);
  c.add_worker(1, 1, {"--resources=special:1"});
  c.join(2);
  auto special = [](int64_t n) {
    return manta::task(make_bytes).num_cpus(0).resources({{"special", 1}}).remote(n);
  };
  REQUIRE(manta::get(manta::task(checksum).remote(special(5000)), 30s) > 0);
  c.net().cut(2, 1); // the head hears both; the driver and the worker hear nothing of each other
  REQUIRE(c.wait_for_cpus(0, 20s)); // the driver closed the silent link and reconnects
  auto ref = special(7000); // before the fix: infeasible_task_error at once
  c.net().mend(2, 1);
  CHECK(manta::get(ref, 60s).size() == 7000u);
  CHECK(c.wait_for_cpus(1, 30s));
}

TEST_CASE("netem: 10,000 tasks and 1,000 actor calls with 2 ms delay and 1% loss") {
  if (auto why = manta_test::netem_unavailable(); !why.empty()) {
    std::fprintf(stderr, "netns_netem: skipped: %s\n", why.c_str());
    std::exit(77); // before anything is made: nothing to remove
  }
  MESSAGE("delay and loss by " << manta_test::netem_kind());
  netns_cluster c{4};
  for (size_t i = 0; i < 4; ++i)
    c.net().netem(i, "delay 2ms 0.5ms loss 1%");
  auto workers = start_two_workers(c);
  auto start = std::chrono::steady_clock::now();
  workload w{10000, c.dir() + "/runs.log", workers.nodes.at(workers.on_2)};
  CHECK(w.wrong() == 0);
  MESSAGE("10,000 tasks and 1,000 actor calls over 2 ms delay and 1% loss took "
          << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
          << " s; the fallback's relay held " << c.net().netem_released() << " packets ("
          << c.net().netem_overruns() << " more lost on the way to it) and its rule dropped "
          << c.net().netem_dropped());
  // With the fallback, the packets really were held and some really were
  // lost (kernel netem leaves both counts at 0).
  if (manta_test::netem_kind().rfind("kernel", 0) != 0) {
    CHECK(c.net().netem_released() > 1000);
    CHECK(c.net().netem_dropped() > 0);
  }
}

TEST_CASE("netem: the delay and its jitter are applied to every packet (a TCP round trip "
          "takes two delays)") {
  if (!manta_test::netem_unavailable().empty())
    return; // the case above says why
  netns_network net{2};
  auto round_trip = [&net] {
    // One byte there and back over TCP between the two namespaces, the
    // best of 20 (what remains is the emulated delay, not the machine's
    // scheduling).
    net.enter(1);
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    net.leave();
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(41234);
    ::inet_pton(AF_INET, netns_network::ip(1).c_str(), &at.sin_addr);
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    net.enter(0);
    int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    net.leave();
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    int server = ::accept(listener, nullptr, nullptr);
    REQUIRE(server >= 0);
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto best = std::chrono::duration<double, std::milli>{1e9};
    auto worst = std::chrono::duration<double, std::milli>{0};
    for (int k = 0; k < 20; ++k) {
      char b = 'x';
      auto t0 = std::chrono::steady_clock::now();
      REQUIRE(::write(client, &b, 1) == 1);
      REQUIRE(::read(server, &b, 1) == 1);
      REQUIRE(::write(server, &b, 1) == 1);
      REQUIRE(::read(client, &b, 1) == 1);
      best = std::min<decltype(best)>(best, std::chrono::steady_clock::now() - t0);
      worst = std::max<decltype(worst)>(worst, std::chrono::steady_clock::now() - t0);
    }
    ::close(client);
    ::close(server);
    ::close(listener);
    return std::pair{best.count(), worst.count()};
  };
  auto plain = round_trip().first;
  net.netem(0, "delay 5ms");
  net.netem(1, "delay 5ms");
  auto delayed = round_trip().first;
  MESSAGE("TCP round trip between two namespaces: " << plain << " ms plain, " << delayed
                                                    << " ms with 5 ms delay each way");
  CHECK(delayed >= 10.0);
  CHECK(delayed < plain + 30.0);
  // Jitter: each packet its own delay, 1-9 ms, so the round trips spread.
  net.netem(0, "delay 5ms 4ms");
  net.netem(1, "delay 5ms 4ms");
  auto [least, most] = round_trip();
  MESSAGE("with 5 ms +- 4 ms each way: " << least << " to " << most << " ms");
  CHECK(least >= 2.0);
  CHECK(most - least > 2.0);
  net.clear_netem(0);
  net.clear_netem(1);
  CHECK(round_trip().first < 5.0);
}

TEST_CASE("netem fallback: a spec it cannot emulate is refused, naming the part") {
  auto s = manta_test::parse_netem("delay 2ms 0.5ms loss 1%");
  CHECK(s.delay == std::chrono::microseconds{2000});
  CHECK(s.jitter == std::chrono::microseconds{500});
  CHECK(s.loss == doctest::Approx(0.01));
  auto refused = [](const std::string& spec) {
    try {
      manta_test::parse_netem(spec);
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  CHECK(refused("delay 2ms rate 1mbit").find("\"rate\" is not understood") != std::string::npos);
  CHECK(refused("delay 2ms 1ms 25%").find("correlation") != std::string::npos);
  CHECK(refused("loss 1").find("\"1\" is not a percentage") != std::string::npos);
  CHECK(refused("delay 2").find("\"2\" is not a time") != std::string::npos);
}

int main(int argc, char** argv) {
  return manta_test::netns_test_main(argc, argv, "netns");
}
