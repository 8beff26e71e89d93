// What other processes can put into a node's log (issue 17): text a peer
// sent is cut to 200 bytes with non-printable bytes escaped, and lines per
// peer are rate-limited with a count of what was held back. The last case
// floods a real worker and head with junk messages from a process that never
// joined (--junk), as anyone who reaches their ports could.
#include <manta/observe/peer_log.hpp>
#include <manta/core/runtime.hpp>
#include <manta/manta.hpp>

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using manta::detail::log_rate_limit;
using manta::detail::printable;

namespace {

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);

size_t count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

/// A process that never joined: connects to the actors published at each
/// HOST:PORT and, for `seconds`, sends each a message every millisecond
/// that no handler expects: 16 KiB of text with newlines, an escape
/// sequence and a forged log line.
int junk_main(std::vector<std::string> targets, int seconds) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  std::vector<caf::actor> actors;
  for (auto& t : targets) {
    auto colon = t.rfind(':');
    auto a = sys.middleman().remote_actor(t.substr(0, colon),
                                          static_cast<uint16_t>(std::stoi(t.substr(colon + 1))));
    if (!a) {
      std::fprintf(stderr, "junk: cannot reach %s\n", t.c_str());
      return 2;
    }
    actors.push_back(*a);
  }
  std::string junk = "\x1b[2J\nmanta: FORGED LINE\n";
  junk += std::string(16 * 1024, 'A');
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  size_t sent = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (auto& a : actors)
      caf::anon_send(a, junk);
    ++sent;
    std::this_thread::sleep_for(1ms);
  }
  std::fprintf(stderr, "junk: sent %zu messages to each\n", sent);
  std::this_thread::sleep_for(500ms); // let the middleman write them
  return 0;
}

} // namespace

TEST_CASE("peer text in a log line is cut and escaped") {
  CHECK(printable("node-3 (pid 42)") == "node-3 (pid 42)");
  CHECK(printable("a\nb\x1b[31m\\") == "a\\x0ab\\x1b[31m\\x5c");
  CHECK(printable("\xff\xfe") == "\\xff\\xfe");
  auto cut = printable(std::string(1000, 'x'));
  CHECK(cut == std::string(200, 'x') + "...(800 more bytes)");
  CHECK(printable(std::string(10, 'y'), 4) == "yyyy...(6 more bytes)");
}

TEST_CASE("log lines are rate-limited per source, and say how many were held back") {
  log_rate_limit limit{3, 1, 2};
  auto t0 = log_rate_limit::clock::now();
  // A burst of 3, then nothing until a token comes back (1 a second).
  for (int i = 0; i < 3; ++i)
    CHECK(limit.admit("peer-a", t0) == std::optional<uint64_t>{0});
  for (int i = 0; i < 50; ++i)
    CHECK_FALSE(limit.admit("peer-a", t0 + 500ms).has_value());
  // Another source has its own bucket.
  CHECK(limit.admit("peer-b", t0) == std::optional<uint64_t>{0});
  // A second later one line passes, saying 50 were held back.
  CHECK(limit.admit("peer-a", t0 + 1500ms) == std::optional<uint64_t>{50});
  CHECK_FALSE(limit.admit("peer-a", t0 + 1500ms).has_value());
  // Past max_sources new sources share one bucket.
  for (int i = 0; i < 3; ++i)
    CHECK(limit.admit("new-" + std::to_string(i), t0).has_value());
  CHECK_FALSE(limit.admit("new-99", t0).has_value());
}

TEST_CASE("junk from a process without the token reaches the logs bounded; nodes keep serving") {
  // On plain TCP, where such a process reaches CAF (with TLS, the default,
  // it cannot connect at all: security_attack_test).
  manta_test::plain_worker_cluster cluster;
  auto& [c, worker_log, worker] = cluster;
  auto junk_log = c.dir() + "/junk.log";
  auto t0 = std::chrono::steady_clock::now();
  auto pid = c.spawn({"--junk", "3", c.address(), worker}, junk_log);
  CHECK(manta_test::exit_status(pid, 60s) == 0);
  auto said = manta_test::read_all(junk_log);
  MESSAGE(said);
  // The nodes log that they dropped messages, within a few seconds: lines
  // held back are counted in the next line that passes.
  std::string log;
  while (std::chrono::steady_clock::now() - t0 < 20s) {
    log = manta_test::read_all(worker_log);
    if (log.find("suppressed)") != std::string::npos
        && c.head_log().find("suppressed)") != std::string::npos)
      break;
    std::this_thread::sleep_for(100ms);
  }
  auto head = c.head_log();
  for (auto* text : {&log, &head}) {
    CAPTURE(text->substr(0, 4000));
    CHECK(text->find("dropped an unexpected message from ") != std::string::npos);
    CHECK(text->find("suppressed)") != std::string::npos);
    // Thousands of 16 KiB messages, a few lines of at most ~1 KiB each.
    CHECK(text->size() < 64 * 1024);
    CHECK(count(*text, "dropped an unexpected message") <= 20);
    // Nothing the peer sent starts a line of its own or moves the cursor.
    CHECK(text->find("\nmanta: FORGED LINE") == std::string::npos);
    CHECK(text->find("\x1b[2J") == std::string::npos);
    CHECK(text->find(std::string(300, 'A')) == std::string::npos);
  }
  MESSAGE("worker log " << log.size() << " bytes, head log " << head.size() << " bytes");
  // Both still serve the driver.
  CHECK(manta::get(manta::task(add).remote(2, 3), 10s) == 5);
  CHECK(manta::cluster_resources()["CPU"] == 1);
}

int main(int argc, char** argv) {
  if (argc >= 4 && std::string_view{argv[1]} == "--junk")
    return junk_main(std::vector<std::string>(argv + 3, argv + argc), std::atoi(argv[2]));
  return manta_test::cluster_test_main(argc, argv);
}
