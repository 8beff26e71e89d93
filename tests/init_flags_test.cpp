// The pieces issue 22 made shared: the table of `init`'s options (each
// flag, config key and environment variable declared once), the runtime's
// stderr sink with levels, and the backoff of the rejoin loops; the
// simulation's options as rows of the table.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN

#include <doctest/doctest.h>
#include <manta/cluster.hpp>
#include <manta/core/backoff.hpp>
#include <manta/core/init_flags.hpp>
#include <manta/observe/log_sink.hpp>
#include <manta/errors.hpp>
#include <manta/logging.hpp>

#include "tests/parsed_flags.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using manta_test::parse;
using manta_test::sim_of;
using manta_test::thrown;

/// What `f` writes to stderr.
template <class F>
std::string stderr_of(F f) {
  std::fflush(stderr);
  auto* file = std::tmpfile();
  REQUIRE(file != nullptr);
  int saved = ::dup(2);
  ::dup2(::fileno(file), 2);
  f();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string out;
  std::rewind(file);
  for (int c; (c = std::fgetc(file)) != EOF;)
    out += static_cast<char>(c);
  std::fclose(file);
  return out;
}

} // namespace

TEST_CASE("each option is declared once, and the hint lists every one") {
  std::set<std::string_view> names, envs;
  auto hint = manta::detail::init_flags_hint();
  for (auto& f : manta::detail::init_flags()) {
    CHECK(names.insert(f.name).second);
    if (!f.env.empty())
      CHECK(envs.insert(f.env).second);
    CHECK(!f.help.empty());
    CHECK(manta::detail::find_init_flag(f.name) == &f);
    CHECK(hint.find("--" + std::string{f.name} + "=...") != std::string::npos);
  }
  CHECK(manta::detail::find_init_flag("num-cpu") == nullptr);
}

TEST_CASE("a flag takes its value after '=' or as the next argument") {
  CHECK(parse({"--num-cpus=3"}).opts.num_cpus == 3);
  CHECK(parse({"--num-cpus", "5"}).opts.num_cpus == 5);
  CHECK(parse({"--num-cpus=3", "--num-cpus=4"}).opts.num_cpus == 4); // the last one wins
  CHECK(parse({"--object-spill-dir="}).opts.object_spill_directory == "");
  CHECK(parse({"--trusted-network"}).opts.trusted_network);
  CHECK(!parse({"--trusted-network=off"}).opts.trusted_network);
}

TEST_CASE("a program's own arguments are passed over, Manta's flags after them read") {
  // `manta start` appends the node's flags after the program's arguments,
  // which may hold a "--", short options and flags of its own.
  auto cl = parse({"-v", "--", "--level=3", "input.txt", "--manta-worker", "--num-cpus=2"});
  CHECK(cl.worker);
  CHECK(cl.opts.num_cpus == 2);
  // No guessing: a prefix of an option's name is the program's.
  CHECK(!parse({"--num=7"}).opts.num_cpus);
}

TEST_CASE("a bad flag is named, with a hint") {
  auto e = thrown([] { parse({"--manta-worker=yes"}); });
  CHECK(e.find("--manta-worker") != std::string::npos);
  CHECK(e.find("Manta's options are") != std::string::npos);
  CHECK(thrown([] { parse({"--num-cpus"}); }) == "manta::init: --num-cpus needs a value");
  CHECK(thrown([] { parse({"--num-cpus=many"}); }).find("--num-cpus") != std::string::npos);
}

TEST_CASE("an environment variable sets its option, and a flag overrides it") {
  ::setenv("MANTA_NUM_CPUS", "6", 1);
  ::setenv("MANTA_TLS_CA", "", 1); // empty turns the TLS files off: it counts
  auto cl = parse({});
  CHECK(cl.opts.num_cpus == 6);
  CHECK(cl.opts.tls.ca_file == "");
  CHECK(parse({"--num-cpus=1"}).opts.num_cpus == 1);
  ::setenv("MANTA_NUM_CPUS", "lots", 1);
  CHECK(thrown([] { parse({}); }).find("MANTA_NUM_CPUS") != std::string::npos);
  ::unsetenv("MANTA_NUM_CPUS");
  ::unsetenv("MANTA_TLS_CA");
}

TEST_CASE("the runtime's messages follow the log level; announcements do not") {
  using manta::log_level;
  auto before = manta::get_log_level();
  manta::set_log_level(log_level::warning);
  auto out = stderr_of([] {
    manta::detail::log_line(log_level::info, "manta: quiet %d\n", 1);
    manta::detail::log_line(log_level::warning, "manta: loud %s\n", "two");
    manta::detail::announce("manta head: listening at %s\n", "127.0.0.1:1");
  });
  CHECK(out == "manta: loud two\nmanta head: listening at 127.0.0.1:1\n");
  std::string long_text(3000, 'x'); // past the sink's stack buffer
  out = stderr_of([&] { manta::detail::log_line(log_level::error, "%s\n", long_text.c_str()); });
  CHECK(out == long_text + "\n");
  manta::set_log_level(before);
}

TEST_CASE("backoff doubles from the first pause up to the most") {
  using ms = std::chrono::milliseconds;
  std::vector<long> got;
  for (int i = 0; i < 7; ++i)
    got.push_back(manta::detail::backoff_delay(ms{50}, i, ms{1000}).count());
  CHECK(got == std::vector<long>{50, 100, 200, 400, 800, 1000, 1000});
}

TEST_CASE("--log-level and MANTA_LOG_LEVEL set the threshold the runtime's lines pass") {
  using manta::log_level;
  auto before = manta::get_log_level();
  auto warn = [] { manta::detail::log_line(log_level::warning, "manta: a warning\n"); };
  parse({"--log-level=error"});
  CHECK(manta::get_log_level() == log_level::error);
  CHECK(stderr_of(warn) == "");
  parse({"--log-level", "INFO"}); // any case, as MANTA_LOG_LEVEL always took it
  CHECK(manta::get_log_level() == log_level::info);
  CHECK(stderr_of(warn) == "manta: a warning\n");
  ::setenv("MANTA_LOG_LEVEL", "error", 1);
  parse({});
  CHECK(manta::get_log_level() == log_level::error);
  CHECK(stderr_of(warn) == "");
  parse({"--log-level=debug"}); // the flag overrides the variable
  CHECK(manta::get_log_level() == log_level::debug);
  ::setenv("MANTA_LOG_LEVEL", "loud", 1);
  CHECK(thrown([] { parse({}); })
        == "manta::init: MANTA_LOG_LEVEL expects debug, info, warning or error, got 'loud'");
  ::unsetenv("MANTA_LOG_LEVEL");
  CHECK(thrown([] { parse({"--log-level=verbose"}); }).find("--log-level expects debug")
        != std::string::npos);
  CHECK(thrown([] { parse({"--log-level"}); }) == "manta::init: --log-level needs a value");
  manta::set_log_level(before);
}

namespace {

/// A file holding `text`, removed with it.
struct temp_file {
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/manta_flags_XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    path = name;
  }
  ~temp_file() { ::unlink(path.c_str()); }
  std::string path;
};

} // namespace

TEST_CASE("the simulation's flags are rows of the table: --simulate or any --sim-* starts one") {
  CHECK(!sim_of({}));
  CHECK(!sim_of({"--seed=3"})); // a program's own --seed alone starts nothing
  CHECK(!sim_of({"--seed", "abc"})); // nor is it checked, nor takes the next argument
  CHECK(!sim_of({"--simulate=off", "--sim-nodes=3"}));
  auto s = sim_of({"--simulate", "--seed=3", "--sim-nodes", "8", "--sim-cost=measured"});
  REQUIRE(s);
  CHECK(s->seed == 3);
  CHECK(s->nodes == 8);
  CHECK(s->cost == manta::sim_cost::measured);
  s = sim_of({"--sim-kills=2", "--sim-kill-window=150ms", "--sim-bandwidth=1.25e9"});
  REQUIRE(s);
  CHECK(s->seed == 1);
  CHECK(s->random_kills == 2);
  CHECK(s->kill_window == std::chrono::milliseconds{150});
  CHECK(s->bandwidth == 1.25e9);
  // The table's other rows go on as before, and help lists the new ones.
  CHECK(parse({"--simulate", "--num-cpus=3"}).opts.num_cpus == 3);
  CHECK(manta::detail::init_flags_hint().find("--sim-nodes=...") != std::string::npos);
}

TEST_CASE("the simulation's options: config file keys, the schedule file under them") {
  temp_file schedule{R"({"nodes": 5, "seed": 9, "cpus_per_node": 3})"};
  temp_file config{"simulate = on\nsim-nodes = 6\nseed = 4\nsim-schedule = " + schedule.path
                   + "\n"};
  auto s = sim_of({"--config=" + config.path});
  REQUIRE(s);
  CHECK(s->nodes == 6); // the config file over the schedule file
  CHECK(s->seed == 4);
  CHECK(s->cpus_per_node == 3); // from the schedule file
  CHECK(s->schedule_file.empty()); // read once, here
  s = sim_of({"--config=" + config.path, "--sim-nodes=2"});
  REQUIRE(s);
  CHECK(s->nodes == 2); // the command line over the config file
  s = sim_of({"--sim-schedule=" + schedule.path, "--seed=11"});
  REQUIRE(s);
  CHECK(s->nodes == 5);
  CHECK(s->seed == 11);
}

TEST_CASE("a bad simulation flag is refused by name") {
  CHECK(thrown([] { sim_of({"--sim-nodes=x"}); })
        == "manta sim: --sim-nodes: expected a whole number from 1 to 1000000, got 'x'");
  CHECK(thrown([] {
          sim_of({"--simulate", "--seed=-1"});
        }).find("--seed: expected a whole")
        != std::string::npos);
  CHECK(thrown([] { sim_of({"--sim-cost=fast"}); })
        == "manta sim: --sim-cost: expected zero, declared or measured, got 'fast'");
  auto unknown = thrown([] { sim_of({"--sim-nodez=3"}); });
  CHECK(unknown.find("manta sim: --sim-nodez=3: unknown simulation flag") == 0);
  CHECK(unknown.find("--sim-nodes=N") != std::string::npos);
  CHECK(thrown([] { sim_of({"--simulate=maybe"}); }).find("--simulate") != std::string::npos);
  temp_file config{"sim-cpus = lots\n"};
  auto e = thrown([&] { sim_of({"--config=" + config.path}); });
  CHECK(e.find("manta sim: ") == 0);
  CHECK(e.find(":1: sim-cpus: expected a whole number") != std::string::npos);
  temp_file bad_schedule{R"({"nodes": 2, "explode": 1})"};
  CHECK(
    thrown([&] { sim_of({"--sim-schedule=" + bad_schedule.path}); }).find("explode: unknown key")
    != std::string::npos);
}
