// Deterministic simulation (docs/simulation.md) of whole programs run as
// child processes: tests/sim_app.cpp (a plain Manta program simulated by
// its flags), `manta sim` and the parameter server demo. The same seed gives
// the same trace hash and trace file; a planted bug (a lost update) is found
// by a seed search and replayed.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "sim_child.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

/// sim_app's mixed program simulated with `flags`, twice with `seed` and once
/// with `other`; each run must exit 0.
struct seed_runs {
  child_run one, two, other;
};
seed_runs run_seeds(const std::string& flags, int seed, int other) {
  auto with = [&](int s) { return run_app(flags + "--seed=" + std::to_string(s) + " mixed"); };
  seed_runs r{with(seed), with(seed), with(other)};
  INFO(r.one.out);
  REQUIRE(r.one.rc == 0);
  REQUIRE(r.two.rc == 0);
  REQUIRE(r.other.rc == 0);
  return r;
}

} // namespace

TEST_CASE("the trace file of a seed is the same line by line, and tells where seeds part") {
  auto base = "/tmp/manta_sim_trace_" + std::to_string(::getpid());
  auto flags = std::string{"--simulate --sim-nodes=4 --sim-kills=1 --sim-kill-window=30ms "};
  auto one = run_app(flags + "--seed=11 --sim-trace=" + base + ".a mixed");
  auto two = run_app(flags + "--seed=11 --sim-trace=" + base + ".b mixed");
  auto other = run_app(flags + "--seed=12 --sim-trace=" + base + ".c mixed");
  REQUIRE(one.rc == 0);
  auto a = read_file(base + ".a"), b = read_file(base + ".b"), c = read_file(base + ".c");
  CHECK(a.size() > 1000);
  CHECK(a == b);
  CHECK(a != c);
  auto events = std::count(a.begin(), a.end(), '\n');
  CHECK(one.out.find("events=" + std::to_string(events) + " ") != std::string::npos);
  CHECK(a.substr(0, a.find('\n')).find(" place ") != std::string::npos);
  for (auto s : {".a", ".b", ".c"})
    std::remove((base + s).c_str());
  auto bad = run_app("--simulate --sim-trace=/nonexistent/dir/trace mixed");
  CHECK(bad.rc != 0);
  CHECK(bad.out.find("cannot write the trace file /nonexistent/dir/trace") != std::string::npos);
}

TEST_CASE("the same seed gives the same trace, another seed another trace") {
  auto flags = std::string{"--simulate --sim-nodes=4 --sim-kills=1 --sim-kill-window=30ms "};
  auto [one, two, other] = run_seeds(flags, 11, 12);
  INFO(one.out);
  REQUIRE(one.hash.size() == 16);
  CHECK(one.hash == two.hash);
  CHECK(one.hash != other.hash);
}

TEST_CASE("a seed search finds the planted lost update, and the seed replays it") {
  auto flags = std::string{"--simulate --sim-nodes=4 --sim-kills=1 --sim-kill-window=60ms "};
  int found = 0;
  int passed = 0;
  child_run bad;
  for (int seed = 1; seed <= 40 && found == 0; ++seed) {
    auto r = run_app(flags + "--seed=" + std::to_string(seed) + " ledger");
    REQUIRE_MESSAGE(r.rc <= 1, r.out);
    if (r.rc == 1) {
      found = seed;
      bad = r;
    } else {
      ++passed;
    }
  }
  REQUIRE_MESSAGE(found != 0, "no seed in 1..40 lost a deposit");
  CHECK(passed > 0); // the bug needs the fault at the wrong moment
  CHECK(bad.out.find("LOST UPDATE") != std::string::npos);
  auto replay = run_app(flags + "--seed=" + std::to_string(found) + " ledger");
  CHECK(replay.rc == 1);
  CHECK(replay.hash == bad.hash);
  auto balance = [](const std::string& out) { return out.substr(out.find("balance=")); };
  CHECK(balance(replay.out) == balance(bad.out));
}

TEST_CASE("manta sim runs seeds in parallel and names the failing ones with a replay") {
  const char* app = std::getenv("MANTA_SIM_APP");
  REQUIRE(app != nullptr);
  auto r = run_app("sim --seeds=1..12 --jobs=2 -- " + std::string{app}
                     + " --sim-nodes=4 --sim-kills=1 --sim-kill-window=60ms ledger",
                   "MANTA_BIN");
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(r.out.find("seeds 1..12: ") != std::string::npos);
  CHECK(r.out.find(" passed, 0 failed") == std::string::npos);
  CHECK(r.out.find("LOST UPDATE") != std::string::npos);
  // The replay command is the first failing seed's, and it fails again.
  auto at = r.out.find("replay: ");
  REQUIRE(at != std::string::npos);
  auto replay = r.out.substr(at + 8, r.out.find('\n', at) - at - 8);
  auto seed_at = replay.find("--seed=");
  REQUIRE(seed_at != std::string::npos);
  auto seed = replay.substr(seed_at + 7, replay.find(' ', seed_at) - seed_at - 7);
  CHECK(r.out.find("seed " + seed + ": exit 1") != std::string::npos);
  CHECK(replay.find(std::string{app} + " --simulate --seed=" + seed + " --sim-nodes=4") == 0);
  auto again = run_app(replay.substr(std::string{app}.size() + 1));
  CHECK(again.rc == 1);
  CHECK(r.out.find("trace_hash=" + again.hash) != std::string::npos);
  auto fine = run_app("sim --seeds=1..5 -- " + std::string{app} + " mixed", "MANTA_BIN");
  CHECK(fine.rc == 0);
  CHECK(fine.out.find("5 passed, 0 failed") != std::string::npos);
  CHECK(run_app("sim --seeds=5..1 -- true", "MANTA_BIN").rc == 2);
}

TEST_CASE("the parameter server demo converges under random node deaths, the same way twice") {
  if (std::getenv("MANTA_SIM_PS_DEMO") == nullptr) {
    MESSAGE("demos not built (-Ddemos=false): skipped");
    return;
  }
  auto strip = [](std::string out) { // the real time is the one line that may differ
    auto at = out.find(" real=");
    return at == std::string::npos ? out : out.erase(at, out.find(' ', at + 1) - at);
  };
  auto one = run_app("--seed=4 --sim-nodes=16 --sim-kills=6 --sim-kill-window=150ms",
                     "MANTA_SIM_PS_DEMO");
  auto two = run_app("--seed=4 --sim-nodes=16 --sim-kills=6 --sim-kill-window=150ms",
                     "MANTA_SIM_PS_DEMO");
  INFO(one.out);
  CHECK(one.rc == 0);
  CHECK(one.out.find("converged") != std::string::npos);
  CHECK(one.out.find("tasks lost with their nodes: 0") == std::string::npos);
  CHECK(strip(one.out) == strip(two.out));
}

TEST_CASE("--seed alone is the program's own flag; a bad --sim- flag is refused by name") {
  auto plain = run_app("--seed=3 mixed");
  CHECK(plain.rc == 0);
  CHECK(plain.out.find("manta sim:") == std::string::npos); // ran on the real node
  auto bad = run_app("--sim-nodez=3 mixed");
  CHECK(bad.rc != 0);
  CHECK(bad.out.find("--sim-nodez=3: unknown simulation flag") != std::string::npos);
  auto zero = run_app("--simulate --sim-nodes=0 mixed");
  CHECK(zero.rc != 0);
  CHECK(zero.out.find("--sim-nodes: expected a whole number from 1") != std::string::npos);
}

TEST_CASE("--sim-partitions and --sim-slowdowns draw the same faults for the same seed") {
  auto flags = std::string{"--simulate --sim-nodes=6 --sim-partitions=2 --sim-slowdowns=2 "
                           "--sim-fault-window=40ms --sim-bandwidth=1e8 "};
  auto [one, two, other] = run_seeds(flags, 5, 6);
  INFO(one.out);
  CHECK(one.hash == two.hash);
  CHECK(one.hash != other.hash);
  auto bad = run_app("--simulate --sim-cost=fast mixed");
  CHECK(bad.rc != 0);
  CHECK(bad.out.find("--sim-cost: expected zero, declared or measured, got 'fast'")
        != std::string::npos);
}
