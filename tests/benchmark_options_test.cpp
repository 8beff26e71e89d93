// The benchmark programs' flags (tools/benchmark_options.hpp): declared
// once with their defaults, read with Program_options; a flag misspelt, a
// number that is not one or out of range, or a value not among a flag's
// choices ends the program with exit code 2 and a sentence naming the flag,
// instead of running the benchmark with its defaults.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "tools/benchmark_options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace {

using manta::tools::benchmark_options;

benchmark_options declared() {
  benchmark_options flags{"bench", "usage: bench [--round-trips=N]"};
  flags.number("round-trips", 2000, 1, "round trips")
    .number("only", -1, -1, "one mode", 3)
    .text("transport", "tls", "transport", {"tls", "plain"})
    .text("netem", "", "shaping");
  return flags;
}

/// `bench ARGS...` read by `flags`.
std::optional<int> run(benchmark_options& flags, std::vector<std::string> args) {
  args.insert(args.begin(), "bench");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return flags.read(static_cast<int>(argv.size()), argv.data());
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

} // namespace

TEST_CASE("defaults hold until a flag is given, in either form") {
  auto flags = declared();
  CHECK_FALSE(run(flags, {}).has_value());
  CHECK(flags.number("round-trips") == 2000);
  CHECK(flags.number("only") == -1);
  CHECK(flags.text("transport") == "tls");
  CHECK(flags.text("netem").empty());
  auto given = declared();
  CHECK_FALSE(
    run(given, {"--round-trips=5", "--only", "2", "--transport=plain", "--netem=delay 2ms loss 1%"})
      .has_value());
  CHECK(given.number("round-trips") == 5);
  CHECK(given.number("only") == 2);
  CHECK(given.text("transport") == "plain");
  CHECK(given.text("netem") == "delay 2ms loss 1%");
  CHECK(given.printed().empty());
}

TEST_CASE("bad usage is exit code 2 with a sentence naming the flag") {
  struct bad_case {
    std::vector<std::string> args;
    std::string says;
  };
  for (auto& c : std::vector<bad_case>{
         {{"--round-trip=5"}, "unknown option '--round-trip=5'"},
         {{"--round-trips=10x"}, "--round-trips expects a whole decimal number, not '10x'"},
         {{"--round-trips="}, "--round-trips expects a whole decimal number, not ''"},
         {{"--round-trips=0"}, "--round-trips is 1 or more, not 0"},
         {{"--only=4"}, "--only is -1 to 3, not 4"},
         {{"--transport=udp"}, "--transport is tls or plain, not 'udp'"},
         {{"--round-trips"}, "--round-trips"},
         {{"stray"}, "unexpected argument 'stray'"},
       }) {
    auto flags = declared();
    INFO(c.args.front());
    CHECK(run(flags, c.args) == 2);
    CHECK(has(flags.printed(), "bench: " + c.says));
    CHECK(has(flags.printed(), "(bench --help lists its options)"));
    CHECK(flags.number("round-trips") == 2000); // nothing half read
  }
}

TEST_CASE("--help prints the usage and every flag with its default, and ends the program") {
  auto flags = declared();
  CHECK(run(flags, {"--round-trips=7", "--help"}) == 0);
  auto& help = flags.printed();
  CHECK(has(help, "usage: bench [--round-trips=N]"));
  CHECK(has(help, "--round-trips=N"));
  CHECK(has(help, "(default 2000)"));
  CHECK(has(help, "--transport=TEXT"));
  CHECK(has(help, "(default tls)"));
  CHECK(has(help, "--netem=TEXT"));
  CHECK(has(help, "(default none)"));
  auto h = declared();
  CHECK(run(h, {"-h"}) == 0);
}
