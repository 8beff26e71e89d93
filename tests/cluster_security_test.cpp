// The cluster token: the head makes one and keeps it in a file only its
// owner can read; a worker or driver with a wrong or missing token is
// refused with an error that says what to give, and the head logs it; a node
// manager ignores work from anyone who does not show the token, even a
// process that connects to its port directly, and closes its connection.
// This binary is head, workers, driver (see manta::local_cluster) and, with
// --intruder, a process that never joined.
#include <manta/cluster/cluster.hpp>
#include <manta/core/codec.hpp>
#include <manta/sched/function_registry.hpp>
#include <manta/core/runtime.hpp>
#include <manta/net/wire.hpp>
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"
#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/task_answer.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/wait.h>

using namespace std::chrono_literals;
namespace wire = manta::detail::wire;

namespace {

using manta_test::exit_status;
using manta_test::read_all;

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);

/// A TaskSpec of add(20, 22).
wire::bytes add_spec() {
  return wire::encode(manta_test::task_spec(0xfeed, "add", 20, 22));
}

std::pair<std::string, uint16_t> host_port(const std::string& address) {
  auto colon = address.rfind(':');
  return {address.substr(0, colon), static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))};
}

/// The message of the `E` that init with `opts` throws, or "" if init
/// succeeds (the runtime is stopped again then).
template <class E>
std::string init_refusal(const manta::init_options& opts) {
  try {
    manta::init(opts);
  } catch (const E& e) {
    return e.what();
  }
  manta::shutdown();
  return {};
}

long long ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                               - t0)
    .count();
}

/// A process that never joined and has no token, as anyone who can reach
/// the ports could run: `--intruder HEAD WORKER` (both HOST:PORT). Asks the
/// head for the members without a token, then sends a TaskSpec with a
/// guessed token straight to the worker's node manager, twice (connecting
/// again in between). Reports each step on stderr; exits 0 if every time it
/// got no answer but the refusal and its connection was closed, else 1.
int intruder_main(const std::string& head, const std::string& worker) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  bool ok = true;
  // Waits up to 10 s for the monitored `whom` to go down; true if it did.
  auto await_down = [&](bool& answered) {
    bool down = false;
    auto t0 = std::chrono::steady_clock::now();
    while (!down && ms_since(t0) < 10000)
      self->receive([&](caf::down_msg&) { down = true; },
                    [&](manta::actors::result_atom, const std::string&, const wire::bytes&) {
                      answered = true;
                    },
                    [&](manta::actors::results_atom, const std::string&, const wire::bytes&) {
                      answered = true;
                    },
                    caf::after(std::chrono::milliseconds(100)) >> [] {});
    return down;
  };
  // Connects to the node at `address` (HOST:PORT) and monitors it; nothing
  // if it cannot be reached (said on stderr, naming it `what`).
  auto reach = [&](const std::string& address, const char* what) -> std::optional<caf::actor> {
    auto [host, port] = host_port(address);
    auto node = sys.middleman().remote_actor(host, port);
    if (!node) {
      std::fprintf(stderr, "intruder: cannot reach the %s\n", what);
      return std::nullopt;
    }
    self->monitor(*node);
    return *node;
  };
  {
    auto registry = reach(head, "head");
    if (!registry)
      return 2;
    auto t0 = std::chrono::steady_clock::now();
    std::string refusal;
    self
      ->request(*registry, std::chrono::seconds(5), manta::actors::nodes_atom::value, std::string{})
      .receive([&](const wire::bytes&) { refusal = "(answered!)"; },
               [&](caf::error& err) { refusal = sys.render(err); });
    bool answered = false;
    bool down = await_down(answered);
    std::fprintf(stderr, "intruder: head: %s; %s after %lld ms\n", refusal.c_str(),
                 down ? "disconnected" : "still connected", ms_since(t0));
    ok = ok && down && refusal.find("no cluster token") != std::string::npos;
  }
  for (int round = 1; round <= 2; ++round) {
    // The middleman forgets a connection when its proxies die; give it a
    // moment so that round 2 connects anew.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto manager = reach(worker, "worker");
    if (!manager)
      return 2;
    auto t0 = std::chrono::steady_clock::now();
    self->send(*manager, manta::actors::submit_atom::value, std::string{"guess"}, add_spec());
    bool answered = false;
    bool down = await_down(answered);
    std::fprintf(stderr, "intruder: worker round %d: %s%s after %lld ms\n", round,
                 down ? "disconnected" : "still connected", answered ? ", ANSWERED" : "",
                 ms_since(t0));
    ok = ok && down && !answered;
  }
  return ok ? 0 : 1;
}


} // namespace

TEST_CASE("the head writes a random token readable by its owner only") {
  manta::local_cluster c;
  struct stat st {};
  REQUIRE(::stat((c.dir() + "/head.token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(c.token().size() == 64);
  manta::local_cluster other;
  CHECK(other.token() != c.token());
}

TEST_CASE("a worker with a wrong token is refused, told why, and logged by the head") {
  manta::local_cluster c;
  auto log = c.dir() + "/worker.log";
  auto wrong = c.dir() + "/wrong.token";
  {
    std::ofstream out{wrong};
    out << "not-the-token\n";
  }
  ::chmod(wrong.c_str(), 0600);
  auto pid = c.spawn(
    {"--manta-worker", "--address=" + c.address(), "--token-file=" + wrong, "--num-cpus=1"}, log);
  CHECK(exit_status(pid) == 1);
  auto text = read_all(log);
  // Its TLS identity is made from its token, so the head's TLS refuses it
  // before anything else is read.
  CHECK(text.find("the peer has another cluster token than this process") != std::string::npos);
  CHECK(text.find("--token-file=FILE or in MANTA_TOKEN") != std::string::npos);
  // The head writes its line once it saw the handshake fail, which may be
  // after the worker, told at once, exited (1 run in 10 on a loaded machine).
  CHECK(manta_test::wait_for_text(c.dir() + "/head.log", "refused a connection from ", 10s));
  CHECK(manta_test::wait_for_text(c.dir() + "/head.log", "its TLS handshake failed", 10s));
  // The refused worker was never a member: a driver with the token sees no
  // worker CPUs.
  c.join(0);
  CHECK(manta::cluster_resources()["CPU"] == 0);
}

TEST_CASE("a driver with a wrong or missing token gets an error naming the problem") {
  manta::local_cluster c;
  manta::init_options opts;
  opts.num_cpus = 1;
  opts.address = c.address();
  opts.token = "0123";
  CHECK_MESSAGE(init_refusal<manta::error>(opts).find("another cluster token") != std::string::npos,
                "init with a wrong token succeeded, or failed for another reason");
  CHECK_FALSE(manta::is_initialized());
  opts.token.reset();
  CHECK_MESSAGE(init_refusal<manta::invalid_argument_error>(opts).find("needs the cluster token")
                  != std::string::npos,
                "init without a token succeeded, or failed for another reason");
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("on plain TCP, a peer without the token runs nothing, is disconnected and logged "
          "once; members are unaffected") {
  // With TLS (the default) such a peer cannot even connect (see
  // security_attack_test); on a cluster run with --transport=plain the
  // token inside Manta's messages is what stops it.
  manta_test::plain_worker_cluster cluster;
  auto& [c, worker_log, worker] = cluster;
  auto& rt = manta::detail::runtime::require("test");
  CHECK(manta::get(manta::task(add).remote(1, 2), 10s) == 3);
  // Another process, which never joined, tries the head and the worker's
  // node manager without the token.
  auto intruder_log = c.dir() + "/intruder.log";
  auto pid = c.spawn({"--intruder", c.address(), worker}, intruder_log);
  auto status = exit_status(pid, std::chrono::seconds(60));
  auto said = read_all(intruder_log);
  MESSAGE(said);
  CHECK(status == 0);
  CHECK(said.find("intruder: head: ") != std::string::npos);
  CHECK(said.find("no cluster token") != std::string::npos);
  CHECK(said.find("worker round 1: disconnected after") != std::string::npos);
  CHECK(said.find("worker round 2: disconnected after") != std::string::npos);
  CHECK(said.find("ANSWERED") == std::string::npos);
  // Logged once per peer: one line on the worker for its two tries.
  auto log = read_all(worker_log);
  size_t lines = 0;
  for (auto at = log.find("refused and disconnected"); at != std::string::npos;
       at = log.find("refused and disconnected", at + 1))
    ++lines;
  CHECK(lines == 1);
  CHECK(log.find("wrong cluster token (a submit message)") != std::string::npos);
  CHECK(c.head_log().find("manta head refused and disconnected") != std::string::npos);
  CHECK(c.head_log().find("no cluster token (a status query message)") != std::string::npos);
  // The driver, a member, kept its connections: the worker's CPUs still
  // count, tasks still run there, and the same spec sent straight to the
  // node manager with the token runs (so the intruder's silence was the
  // token).
  CHECK(manta::cluster_resources()["CPU"] == 1);
  CHECK(manta::get(manta::task(add).remote(2, 3), 10s) == 5);
  caf::scoped_actor self{rt.system()};
  auto manager = manta_test::only_worker_manager(c.token());
  REQUIRE(manager);
  self->send(*manager, manta::actors::submit_atom::value, c.token(), add_spec());
  int v = 0;
  manta_test::task_answer r;
  if (!manta_test::receive_answer(self, r, 10s))
    FAIL("no answer with the right token");
  CHECK(r.token == c.token());
  REQUIRE(r.undecodable == "");
  REQUIRE(r.kind == wire::result_message::inline_value);
  REQUIRE(!manta::detail::decode(r.value, v));
  CHECK(v == 42);
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view{argv[1]} == "--intruder")
    return intruder_main(argv[2], argv[3]);
  return manta_test::cluster_test_main(argc, argv);
}
