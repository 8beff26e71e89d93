// Fault injection on the network: every worker node of a real cluster on
// 127.0.0.1 is reached by the driver through a TCP proxy of its own
// (tests/tcp_proxy.hpp; the worker advertises the proxy's address with
// --advertise-address), which delays bytes, cuts every live connection and
// turns reconnects away for a while, during a long run of tasks and actor
// calls. The workers stay alive: a cut connection looks like a dead node to
// CAF, so the driver places the work elsewhere and connects again. Every
// result must arrive, be correct and be seen once; every task runs at least
// once and at most 1 + max_retries times; no get waits past its timeout.
#include <manta/manta.hpp>

#include "actors/cluster_client.hpp"
#include "tests/attempt_log.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/fault_workload.hpp"
#include "tests/file_gate.hpp"
#include "tests/head_workload.hpp"
#include "tests/loopback_socket.hpp"
#include "tests/tcp_proxy.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using manta_test::tcp_proxy;

namespace {

/// The port a worker's node manager listens on, from the line it logs when
/// it joined ("... (listening at 127.0.0.1:PORT, advertised as ...)").
uint16_t listening_port(const std::string& log) {
  auto until = steady::now() + 15s;
  const std::string key = "listening at 127.0.0.1:";
  while (steady::now() < until) {
    auto text = manta_test::read_all(log);
    if (auto at = text.find(key); at != std::string::npos)
      return static_cast<uint16_t>(std::stoi(text.substr(at + key.size())));
    std::this_thread::sleep_for(5ms);
  }
  FAIL("the worker did not say where it listens: " << manta_test::read_all(log));
  return 0;
}

/// A worker node with `cpus` CPUs that the driver reaches through `proxy`;
/// its log goes to `log`.
pid_t add_proxied_worker(manta::local_cluster& c, tcp_proxy& proxy, const std::string& log,
                         double cpus = 1) {
  auto pid = c.add_worker(cpus, "",
                          {"--advertise-address=127.0.0.1:" + std::to_string(proxy.port())}, log);
  proxy.set_target(listening_port(log));
  return pid;
}

/// Records its attempt (its process id) in `log`, then holds its CPU until
/// the file `gate` exists (at most 30 s).
int gated_attempt(std::string gate, std::string log) {
  manta_test::record_attempt(log);
  return wait_for_file(std::move(gate), 30);
}

/// How many tasks of `work` make a workload of about 3 s at this cluster's
/// pace with no faults, at least 10,000 and at most 100,000: the pace of the
/// second of two batches of 1,000 (the first warms connections and threads),
/// logged to `log`.
int workload_size(const std::string& log) {
  double per_second = 0;
  for (int batch = 0; batch < 2; ++batch) {
    auto t0 = steady::now();
    std::vector<manta::object_ref<int64_t>> refs;
    for (int64_t i = 0; i < 1000; ++i)
      refs.push_back(manta::task(manta_test::work).remote(i, log));
    for (auto& r : refs)
      manta::get(r, 30s);
    per_second = 1000 / std::chrono::duration<double>(steady::now() - t0).count();
  }
  return static_cast<int>(std::clamp(per_second * 3, 10000.0, 100000.0));
}

/// A connected pair of loopback sockets through `proxy`: (client, server).
std::pair<int, int> connect_through(tcp_proxy& proxy, int listener) {
  int client = manta_test::tcp_connect(proxy.port());
  REQUIRE(client >= 0);
  int server = ::accept(listener, nullptr, nullptr);
  REQUIRE(server >= 0);
  return {client, server};
}

} // namespace

MANTA_REMOTE(gated_attempt);

TEST_CASE("the test proxy forwards, delays, cuts and refuses") {
  uint16_t port = 0;
  int listener = manta_test::tcp_listen(port);
  REQUIRE(listener >= 0);
  tcp_proxy proxy{port};
  auto [client, server] = connect_through(proxy, listener);
  char buf[16] = {};
  // Forwards both ways.
  REQUIRE(::write(client, "ping", 4) == 4);
  REQUIRE(::read(server, buf, sizeof(buf)) == 4);
  CHECK(std::string(buf, 4) == "ping");
  // Holds bytes for the delay.
  proxy.set_delay(150ms);
  auto t0 = steady::now();
  REQUIRE(::write(server, "pong", 4) == 4);
  REQUIRE(::read(client, buf, sizeof(buf)) == 4);
  CHECK(steady::now() - t0 >= 150ms);
  CHECK(std::string(buf, 4) == "pong");
  proxy.set_delay(0ms);
  // A cut closes both sides.
  CHECK(proxy.cut() == 1);
  CHECK(::read(client, buf, sizeof(buf)) <= 0);
  CHECK(::read(server, buf, sizeof(buf)) <= 0);
  ::close(client);
  ::close(server);
  // While refusing, a new connection is closed at once; afterwards it works.
  proxy.refuse_for(300ms);
  int refused = manta_test::tcp_connect(proxy.port());
  REQUIRE(refused >= 0);
  CHECK(::read(refused, buf, sizeof(buf)) <= 0);
  ::close(refused);
  std::this_thread::sleep_for(350ms);
  auto [c2, s2] = connect_through(proxy, listener);
  REQUIRE(::write(c2, "again", 5) == 5);
  CHECK(::read(s2, buf, sizeof(buf)) == 5);
  // A stalled connection passes nothing on and does not close; a new one
  // works.
  CHECK(proxy.stall() == 1);
  REQUIRE(::write(c2, "lost", 4) == 4);
  REQUIRE(::write(s2, "lost", 4) == 4);
  pollfd both[2] = {{c2, POLLIN, 0}, {s2, POLLIN, 0}};
  CHECK(::poll(both, 2, 300) == 0); // no bytes, no close, on either side
  auto [c3, s3] = connect_through(proxy, listener);
  REQUIRE(::write(c3, "fresh", 5) == 5);
  CHECK(::read(s3, buf, sizeof(buf)) == 5);
  auto st = proxy.stats();
  CHECK(st.accepted == 3);
  CHECK(st.refused == 1);
  CHECK(st.cut == 1);
  CHECK(st.stalled == 1);
  CHECK(st.live == 1);
  CHECK(st.held >= 1);
  for (int fd : {c2, s2, c3, s3, listener})
    ::close(fd);
}

TEST_CASE("a connection that hangs without closing is closed after the connection timeout; "
          "the worker is reconnected and every result arrives once") {
  // Every process of this cluster (head, worker, driver) closes a
  // connection silent for 2 s.
  struct timeout_env {
    timeout_env() { ::setenv("MANTA_CONNECTION_TIMEOUT", "2s", 1); }
    ~timeout_env() { ::unsetenv("MANTA_CONNECTION_TIMEOUT"); }
  } env;
  const auto timeout = 2s;
  const int n = 3000;
  const int max_retries = 3;
  manta::local_cluster c;
  tcp_proxy proxy;
  auto worker = add_proxied_worker(c, proxy, c.dir() + "/worker.log");
  manta::init_options opts;
  opts.connection_timeout = timeout;
  c.join(0, opts); // runs nothing itself: everything crosses the proxy
  REQUIRE(proxy.stats().accepted == 1);
  auto node = manta_test::worker_nodes(1).at(worker);
  auto log = c.dir() + "/runs.log";
  manta_test::workload w{n, log, node, 7, max_retries};
  auto start = steady::now();
  while (manta_test::lines_in(log) < n / 5) {
    REQUIRE(steady::now() - start < 60s);
    std::this_thread::sleep_for(1ms);
  }
  auto ran_at_stall = manta_test::lines_in(log);
  REQUIRE(proxy.stall() == 1);
  auto stalled = steady::now();
  // Nothing closes the connection but the timeout; meanwhile nothing is
  // lost, and a get with a timeout returns on time.
  auto t0 = steady::now();
  CHECK_THROWS_AS(manta::get(w.tasks.back(), 100ms), manta::get_timeout_error);
  CHECK(steady::now() - t0 < 1s);
  while (proxy.stats().accepted < 2) {
    REQUIRE(steady::now() - stalled < 20s);
    std::this_thread::sleep_for(5ms);
  }
  auto reconnected = std::chrono::duration<double>(steady::now() - stalled).count();
  auto wrong = w.wrong();
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  CHECK(wrong == 0);
  CHECK(ran_at_stall < static_cast<size_t>(n)); // the stall hit the run
  // Closed by the timeout, not by anything sooner (the last bytes before
  // the stall may have come somewhat earlier); reconnected soon after.
  CHECK(reconnected >= 0.5 * std::chrono::duration<double>(timeout).count());
  CHECK(reconnected < 10.0);
  // Every task ran; only those in flight on the hung connection may have
  // run twice (the worker ran them, but their results went into the hang).
  auto [runs, per_process] = manta_test::runs_of(log);
  CHECK(runs.size() == static_cast<size_t>(n));
  auto extra = manta_test::reruns_in(runs).extra;
  CHECK(extra <= static_cast<int64_t>(manta::actors::remote_queue_factor));
  // The worker is alive and connected again, through the proxy.
  CHECK(::kill(worker, 0) == 0);
  CHECK(manta::cluster_resources()["CPU"] == 1);
  auto st = proxy.stats();
  CHECK(st.stalled == 1);
  CHECK(st.live == 1);
  MESSAGE(n << " tasks and " << w.calls.size() << " actor calls in " << secs
            << " s; the hung connection was closed and the worker reconnected " << reconnected
            << " s after the stall (timeout " << timeout.count() << " s); " << extra << " re-runs; "
            << per_process[worker] << " runs on the worker");
}

TEST_CASE("a task whose connection is cut while it runs is adopted on reconnect, not run twice") {
  manta::local_cluster c;
  tcp_proxy proxy;
  add_proxied_worker(c, proxy, c.dir() + "/worker.log");
  c.join(0);
  auto log = c.dir() + "/runs.log";
  auto ref =
    manta::task(manta_test::slow_work).max_retries(3).remote(int64_t{6}, int64_t{1500}, log);
  // Running on the worker now.
  for (int i = 0; i < 500 && manta_test::lines_in(log) == 0; ++i)
    std::this_thread::sleep_for(5ms);
  REQUIRE(manta_test::lines_in(log) == 1);
  proxy.refuse_for(300ms);
  CHECK(proxy.cut() == 1);
  // No worker is connected now; a get with a timeout still returns on time.
  auto t0 = steady::now();
  CHECK_THROWS_AS(manta::get(ref, 100ms), manta::get_timeout_error);
  CHECK(steady::now() - t0 < 1s);
  // The driver connects again (after the refusals) and places the task
  // there again; the worker answers with the run still going on.
  t0 = steady::now();
  CHECK(manta::get(ref, 20s) == 6 * 6 + 7);
  CHECK(steady::now() - t0 < 5s);
  CHECK(manta_test::lines_in(log) == 1); // it ran once
  auto st = proxy.stats();
  CHECK(st.refused >= 1); // the first reconnects were turned away
  CHECK(st.accepted >= 2);
  CHECK(manta::cluster_resources()["CPU"] == 1);
}

TEST_CASE("a task whose nodes are cut one after the other waits for them to come back instead "
          "of failing as a node killer") {
  // Two cut connections are not two dead nodes: while the driver still
  // reconnects to both, it cannot tell which they are, and the task's
  // verdict waits (max_node_failures is 2 by default).
  manta::local_cluster c;
  std::vector<std::unique_ptr<tcp_proxy>> proxies;
  std::vector<pid_t> workers;
  for (int w = 0; w < 2; ++w) {
    proxies.push_back(std::make_unique<tcp_proxy>());
    workers.push_back(
      add_proxied_worker(c, *proxies.back(), c.dir() + "/worker" + std::to_string(w) + ".log"));
  }
  c.join(0);
  auto log = c.dir() + "/runs.log";
  auto gate = c.dir() + "/gate";
  auto ref = manta::task(gated_attempt).max_retries(5).remote(gate, log);
  // Cut the node it runs on and keep it away (its reconnects refused): the
  // task goes to the other node, which is cut next.
  std::vector<int> cut_pids;
  for (size_t run = 1; run <= 2; ++run) {
    auto until = steady::now() + 20s;
    while (manta_test::pids_in(log).size() < run && steady::now() < until)
      std::this_thread::sleep_for(5ms);
    auto pids = manta_test::pids_in(log);
    REQUIRE(pids.size() == run);
    cut_pids.push_back(pids.back());
    auto w = static_cast<size_t>(std::find(workers.begin(), workers.end(), pids.back())
                                 - workers.begin());
    REQUIRE(w < workers.size());
    proxies[w]->refuse_for(60s);
    REQUIRE(proxies[w]->cut() >= 1);
  }
  CHECK(cut_pids[0] != cut_pids[1]);
  // Both nodes are being reconnected: the task has not failed.
  CHECK_THROWS_AS(manta::get(ref, 300ms), manta::get_timeout_error);
  manta_test::touch(gate);
  for (auto& p : proxies)
    p->refuse_for(0ms);
  CHECK(manta::get(ref, 30s) == 1);
}

TEST_CASE("thousands of tasks and actor calls survive cut, refused and delayed connections, "
          "each result exactly once") {
  const int num_actors = manta_test::env_int("MANTA_NETFAULT_ACTORS", 30);
  const int max_retries = 5;
  const double cpus = 1;
  manta::local_cluster c;
  auto log = c.dir() + "/runs.log";
  std::vector<std::unique_ptr<tcp_proxy>> proxies;
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w) {
    proxies.push_back(std::make_unique<tcp_proxy>());
    workers.push_back(add_proxied_worker(c, *proxies.back(),
                                         c.dir() + "/worker" + std::to_string(w) + ".log", cpus));
  }
  c.join(0); // the driver runs nothing itself: every task crosses a proxy
  for (auto& p : proxies)
    REQUIRE(p->stats().accepted == 1); // the driver's connection goes through it
  // The faults' own times are fixed (refusals of 300-400 ms, the driver's
  // reconnect backoff), so a workload that runs through faster ends before
  // the last ones strike (`ran < n` below): it is sized to last about 3 s at
  // the pace of a batch run with no faults, at least 10,000 tasks (the task
  // lane, whose specs do not cross the proxies' delays, runs it faster).
  const int n = manta_test::env_int("MANTA_NETFAULT_TASKS", workload_size(c.dir() + "/pace.log"));
  auto actors = manta_test::spread_tallies(num_actors, workers);
  auto start = steady::now();
  auto [refs, calls] = manta_test::submit_workload(n, max_retries, log, actors);
  // The faults, each when a share of the tasks has run: (share %, what).
  // A cut waits (up to 10 s) until the driver is connected through that
  // proxy again, so that every cut closes a live connection.
  int node_cuts = 0;
  std::vector<size_t> ran_at_fault;
  auto cut = [&](size_t w) {
    auto until = steady::now() + 10s;
    while (proxies[w]->stats().live == 0 && steady::now() < until)
      std::this_thread::sleep_for(2ms);
    node_cuts += proxies[w]->cut() > 0;
  };
  std::vector<manta_test::timed_fault> faults{
    {10, [&] { proxies[0]->set_delay(20ms); }},
    {20, [&] { cut(1); }},
    {35,
     [&] {
       proxies[2]->refuse_for(400ms);
       cut(2);
     }},
    {50, [&] { cut(0); }}, // the delayed one
    {65,
     [&] {
       proxies[1]->set_delay(50ms);
       cut(2);
     }},
    {80,
     [&] {
       for (size_t w = 0; w < 3; ++w) {
         proxies[w]->refuse_for(300ms);
         cut(w);
       }
     }},
  };
  ran_at_fault = manta_test::strike_at_shares(log, n, faults, start + 60s);
  REQUIRE(ran_at_fault.size() == faults.size()); // else the workload stalled
  double longest_get = 0;
  auto wrong = manta_test::wrong_work_results(refs, longest_get);
  auto wrong_calls = manta_test::wrong_step_results(calls, 5, &longest_get);
  auto secs = std::chrono::duration<double>(steady::now() - start).count();
  // Every fault hit the run while tasks were still running.
  for (auto ran : ran_at_fault)
    CHECK(ran < static_cast<size_t>(n));
  CHECK(wrong == 0);
  CHECK(wrong_calls == 0);
  // A second read sees the same single value (results are sealed once).
  for (int i = 0; i < n; i += 97)
    CHECK(manta::get(refs[static_cast<size_t>(i)], 1s) == int64_t{i} * i + 7);
  // Every task ran, none more than 1 + max_retries times, and only tasks in
  // flight on a node whose connection was cut ran again: at most its
  // window (remote_queue_factor x its CPUs) per cut.
  auto [runs, per_process] = manta_test::runs_of(log);
  CHECK(runs.size() == static_cast<size_t>(n));
  auto [extra, most] = manta_test::reruns_in(runs);
  CHECK(most <= 1 + max_retries);
  CHECK(extra <= static_cast<int64_t>(node_cuts * manta::actors::remote_queue_factor * cpus));
  // The workers stayed alive and the driver is connected to all of them
  // again, each time through the proxy; the refusals were met.
  CHECK(node_cuts == 7);
  for (auto& p : proxies)
    p->set_delay(0ms);
  // The last cut may still be reconnecting (on a loaded machine it was):
  // wait for that, with a deadline, rather than look once; only then has
  // every reconnection gone through its proxy.
  CHECK_NOTHROW(c.wait_for_cpus(3 * cpus));
  CHECK(manta::cluster_resources()["CPU"] == 3 * cpus);
  size_t accepted = 0, refused = 0, cuts = 0, held = 0;
  for (auto& p : proxies) {
    auto st = p->stats();
    accepted += st.accepted;
    refused += st.refused;
    cuts += st.cut;
    held += st.held;
  }
  CHECK(accepted >= 3 + 7); // one connection each, and one after every cut
  CHECK(refused >= 1);
  for (auto pid : workers)
    CHECK(::kill(pid, 0) == 0);
  for (size_t w = 0; w < workers.size(); ++w)
    MESSAGE("worker " << w << " (pid " << workers[w] << ") ran " << per_process[workers[w]]
                      << " tasks");
  std::string shares;
  for (auto ran : ran_at_fault)
    shares += " " + std::to_string(ran * 100 / static_cast<size_t>(n)) + "%";
  MESSAGE("faults when this share of the tasks had run:" << shares);
  MESSAGE(n << " tasks and " << calls.size() << " calls of " << num_actors << " actors in " << secs
            << " s; " << node_cuts << " connection cuts (" << cuts << " connections closed), "
            << refused << " reconnects refused, " << accepted << " connections made, " << held
            << " chunks delayed; " << extra << " re-runs, at most " << most
            << " runs of one task; longest get " << static_cast<int>(longest_get * 1000) << " ms");
  CHECK(longest_get < 30.0);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
