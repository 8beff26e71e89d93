// Attacks on the ports of real node processes by a peer without the
// cluster token (docs/reliability.md, "Threat model"): every connection is
// TLS with an identity made from the token, so nothing such a peer sends
// reaches CAF, and what it can make a node hold (connections whose
// handshake never finishes) is capped and closed in time. Each case checks
// that the nodes keep serving a legitimate driver and that memory, threads
// and descriptors stay bounded. This binary is head, worker and driver (see
// manta::local_cluster) and, with --attacker, a process that never joined.
//
// MANTA_ATTACK_TRANSPORT=plain runs the same attacks against clusters on
// plain TCP (what every cluster was before TLS became the default): the
// cases then fail, which shows that each attack does harm without TLS.
#include <manta/core/caf_config.hpp>
#include <manta/core/runtime.hpp>
#include <manta/net/transport.hpp>
#include <manta/manta.hpp>

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/loopback_socket.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/io/basp/header.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <signal.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

using manta_test::exit_status;
using manta_test::read_all;
using steady = std::chrono::steady_clock;

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);

std::pair<std::string, uint16_t> host_port(const std::string& address) {
  auto colon = address.rfind(':');
  return {address.substr(0, colon), static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))};
}

/// A process that never joined: `--attacker MODE HOST:PORT`. It connects as
/// CAF does, over plain TCP (`plain`) or over TLS with the identity of
/// another cluster's token (`other-token`), and if that works, sends the
/// actor there an exit message and links to it (what stopped a node before
/// TLS was the default). Exits 0 if it got through, 3 if it was refused.
int attacker_main(const std::string& mode, const std::string& address) {
  manta::tls_options tls;
  tls.plain = mode == "plain";
  auto cfg = manta::detail::make_caf_config(1, /*networked=*/true, tls, "not the token",
                                            std::chrono::seconds(4));
  caf::actor_system sys{*cfg};
  auto [host, port] = host_port(address);
  auto target = manta::detail::connect(sys, host, port, 5s);
  if (!target) {
    std::fprintf(stderr, "attacker (%s): refused: %s\n", mode.c_str(),
                 sys.render(target.error()).c_str());
    return 3;
  }
  caf::anon_send_exit(*target, caf::exit_reason::kill);
  {
    // A linked actor that dies takes the target with it.
    auto doomed = sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
    caf::anon_send(doomed, caf::link_atom::value, caf::actor_cast<caf::strong_actor_ptr>(*target));
    caf::anon_send_exit(doomed, caf::exit_reason::kill);
  }
  std::this_thread::sleep_for(500ms); // let the messages go out before exiting
  std::fprintf(stderr, "attacker (%s): CONNECTED and sent an exit message\n", mode.c_str());
  return 0;
}

/// A number from /proc/PID/status ("VmRSS", "Threads").
long proc_status(pid_t pid, const std::string& key) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size() + 1, key + ":") == 0)
      return std::atol(line.c_str() + key.size() + 1);
  return -1;
}

long open_fds(pid_t pid) {
  long n = 0;
  if (auto* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (auto* e = ::readdir(d))
      n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

struct usage {
  long rss_kib;
  long threads;
  long fds;
};

usage usage_of(pid_t pid) {
  return {proc_status(pid, "VmRSS"), proc_status(pid, "Threads"), open_fds(pid)};
}


/// Waits until the node closed each of `fds` (end of file or a reset);
/// returns how many it did not close by `deadline`. Closes them all.
size_t await_closed(std::vector<int>& fds, steady::time_point deadline) {
  std::vector<bool> closed(fds.size(), false);
  size_t open = fds.size();
  char buf[4096];
  while (open > 0 && steady::now() < deadline) {
    std::vector<pollfd> polled;
    std::vector<size_t> which;
    for (size_t i = 0; i < fds.size(); ++i)
      if (!closed[i]) {
        polled.push_back({fds[i], POLLIN, 0});
        which.push_back(i);
      }
    if (::poll(polled.data(), polled.size(), 100) <= 0)
      continue;
    for (size_t k = 0; k < polled.size(); ++k) {
      if (polled[k].revents == 0)
        continue;
      auto n = ::recv(polled[k].fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        closed[which[k]] = true;
        --open;
      }
    }
  }
  for (auto fd : fds)
    ::close(fd);
  fds.clear();
  return open;
}

/// CAF's first message on a connection, announcing a 4 GiB payload that
/// never comes (CAF 0.17 made room for the payload as announced).
std::vector<char> huge_basp_header(caf::actor_system& sys) {
  caf::io::basp::header hdr{caf::io::basp::message_type::client_handshake,
                            0,
                            0xFFFFFFFFu,
                            0,
                            caf::invalid_actor_id,
                            caf::invalid_actor_id};
  std::vector<char> out;
  caf::binary_serializer sink{sys, out};
  if (auto err = sink(hdr))
    FAIL("cannot encode a BASP header");
  return out;
}

/// The worker's "HOST:PORT" as the driver knows it.
std::string only_worker_address() {
  auto address = manta_test::only_worker_address();
  REQUIRE(!address.empty());
  return address;
}

/// A task the driver (no CPUs of its own) can only run on the worker.
void check_worker_serves(int a, int b) {
  CHECK(manta::get(manta::task(add).remote(a, b), 10s) == a + b);
  CHECK(manta::cluster_resources()["CPU"] == 1);
}

/// The clusters' transport: TLS (the default), or plain TCP with
/// MANTA_ATTACK_TRANSPORT=plain.
manta::tls_options transport() {
  manta::tls_options out;
  auto env = std::getenv("MANTA_ATTACK_TRANSPORT");
  out.plain = env != nullptr && std::string_view{env} == "plain";
  return out;
}

} // namespace

TEST_CASE("a process without the token cannot connect, so its exit messages stop no node") {
  manta::local_cluster c{transport()};
  auto worker = c.add_worker(1);
  c.join(0);
  check_worker_serves(1, 2);
  auto worker_address = only_worker_address();
  for (auto& target : {c.address(), worker_address}) {
    for (std::string mode : {"plain", "other-token"}) {
      auto log = c.dir() + "/attacker-" + mode + ".log";
      auto status = exit_status(c.spawn({"--attacker", mode, target}, log), 30s);
      auto said = read_all(log);
      INFO(said);
      CHECK(status == 3);
      CHECK(said.find("refused") != std::string::npos);
    }
  }
  // Both nodes live on and serve the driver.
  CHECK(::kill(worker, 0) == 0);
  CHECK(::kill(c.head_pid(), 0) == 0);
  check_worker_serves(2, 3);
  // The refusals are logged by the nodes, naming TLS.
  CHECK(c.head_log().find("its TLS handshake failed") != std::string::npos);
}

TEST_CASE("a 4 GiB header and garbage on 200 connections cost a node no memory, threads, "
          "descriptors or members") {
  manta::local_cluster c{transport()};
  auto worker = c.add_worker(1);
  c.join(0);
  check_worker_serves(1, 2);
  auto& sys = manta::detail::runtime::require("test").system();
  auto header = huge_basp_header(sys);
  std::mt19937 random{42};
  std::vector<char> garbage(4096);
  for (pid_t pid : {c.head_pid(), worker}) {
    auto port = pid == worker ? host_port(only_worker_address()).second
                              : host_port(c.address()).second;
    auto before = usage_of(pid);
    std::vector<int> fds;
    for (int i = 0; i < 20; ++i) {
      int fd = manta_test::tcp_connect(port);
      REQUIRE(fd >= 0);
      CHECK(::send(fd, header.data(), header.size(), MSG_NOSIGNAL) == ssize_t(header.size()));
      fds.push_back(fd);
    }
    for (int i = 0; i < 200; ++i) {
      int fd = manta_test::tcp_connect(port);
      if (fd < 0)
        continue; // the backlog was full: refused, which is fine too
      for (auto& b : garbage)
        b = static_cast<char>(random());
      ::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL);
      fds.push_back(fd);
    }
    // The node drops every such connection at the first bytes that are
    // no TLS handshake; none waits for the announced payload.
    CHECK(await_closed(fds, steady::now() + 15s) == 0);
    auto after = usage_of(pid);
    MESSAGE("pid " << pid << ": RSS " << before.rss_kib << " -> " << after.rss_kib
                   << " KiB, threads " << before.threads << " -> " << after.threads
                   << ", descriptors " << before.fds << " -> " << after.fds);
    CHECK(after.rss_kib - before.rss_kib < 64 * 1024);
    CHECK(after.threads <= before.threads + 2);
    CHECK(after.fds <= before.fds + 4);
  }
  CHECK(::kill(worker, 0) == 0);
  check_worker_serves(2, 3);
  // Logged, but not a line per connection: 440 refusals, a few lines.
  auto refusals = manta_test::count_of(c.head_log(), "refused a connection from");
  MESSAGE("head log lines about refused connections: " << refusals);
  CHECK(refusals >= 1);
  CHECK(refusals <= 12);
}

TEST_CASE("connections that never finish their handshake are capped and closed in time") {
  manta::local_cluster c{transport()};
  auto worker = c.add_worker(1);
  c.join(0);
  check_worker_serves(1, 2);
  auto port = host_port(only_worker_address()).second;
  auto before = usage_of(worker);
  std::vector<int> fds;
  // 400 connections that send nothing, and 20 that start a TLS record and
  // stop (a half-open handshake).
  const char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  for (int i = 0; i < 420; ++i) {
    int fd = manta_test::tcp_connect(port);
    if (fd < 0)
      continue;
    if (i >= 400)
      ::send(fd, partial_hello, sizeof(partial_hello), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  auto t0 = steady::now();
  // While they are open, the worker holds at most the cap of them (two
  // descriptors each: CAF's and the guard's), and no thread per connection.
  auto during = usage_of(worker);
  MESSAGE("worker: descriptors " << before.fds << " -> " << during.fds << ", threads "
                                 << before.threads << " -> " << during.threads);
  CHECK(during.fds <= before.fds + 2 * 256 + 8);
  CHECK(during.threads <= before.threads + 2);
  // Every one is closed by the worker: those beyond the cap at once, the
  // others when the handshake timeout (10 s by default) has passed.
  CHECK(await_closed(fds, steady::now() + 30s) == 0);
  MESSAGE("all closed after "
          << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count()
          << " ms");
  // Descriptors come back once the connections are gone.
  auto deadline = steady::now() + 10s;
  while (open_fds(worker) > before.fds + 4 && steady::now() < deadline)
    std::this_thread::sleep_for(50ms);
  CHECK(open_fds(worker) <= before.fds + 4);
  CHECK(::kill(worker, 0) == 0);
  check_worker_serves(3, 4);
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view{argv[1]} == "--attacker")
    return attacker_main(argv[2], argv[3]);
  return manta_test::cluster_test_main(argc, argv);
}
