// The `manta` command's flags (issue 22): each declared once in its verb's
// table (tools/command_help.cpp), read from there by Boost.Program_options
// (tools/command_line.cpp) and listed from there by the help.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/core/init_flags.hpp"
#include "tools/command_help.hpp"
#include "tools/command_line.hpp"

#include <string>
#include <vector>

namespace {

using manta::tools::command_args;
using manta::tools::parse_command;

/// `manta VERB ARGS...` as its verb reads them.
command_args parse(const std::string& verb, std::vector<std::string> args) {
  args.insert(args.begin(), verb);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return parse_command(verb, static_cast<int>(argv.size()), argv.data());
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

/// Whether `help` lists the flag `name`: "  --name=...", "  -o FILE, --name=...",
/// "  --name[=...]" or a switch "  --name  ...".
bool lists(const std::string& help, const std::string& name) {
  for (auto* before : {"  --", ", --"})
    for (auto* after : {"=", "[=", " ", "\n"})
      if (has(help, before + name + after))
        return true;
  return false;
}

} // namespace

TEST_CASE("every flag of every verb is read by its parser and listed by its help") {
  size_t flags = 0;
  for (auto& verb : manta::tools::command_verbs()) {
    std::string name{verb.name};
    auto help = manta::tools::verb_help(name);
    CHECK(help.rfind("usage: manta " + name, 0) == 0);
    for (auto& f : verb.flags) {
      std::string flag{f.name};
      CAPTURE(name);
      CAPTURE(flag);
      ++flags;
      // A flag that borrows init's help borrows its value too.
      bool has_value = !f.value.empty() || f.help.empty();
      CHECK((!f.help.empty() || manta::detail::find_init_flag(flag) != nullptr));
      auto given = has_value ? parse(name, {"--" + flag + "=x"}) : parse(name, {"--" + flag});
      CHECK(given.error == "");
      CHECK(given.has(flag));
      CHECK(given.value(flag) == (has_value ? "x" : ""));
      if (f.short_name != 0) {
        auto shortly = has_value ? parse(name, {std::string{'-', f.short_name}, "y"})
                                 : parse(name, {std::string{'-', f.short_name}});
        CHECK(shortly.error == "");
        CHECK(shortly.value(flag) == (has_value ? "y" : ""));
      }
      CHECK(lists(help, flag) != f.hidden);
    }
  }
  CHECK(flags > 50);
}

TEST_CASE("a flag that is also init's option is listed with init's help and variable") {
  auto help = manta::tools::verb_help("start");
  auto* num_cpus = manta::detail::find_init_flag("num-cpus");
  REQUIRE(num_cpus != nullptr);
  CHECK(has(help, "--num-cpus=" + std::string{num_cpus->value}));
  CHECK(has(help, std::string{num_cpus->help} + " (MANTA_NUM_CPUS)"));
  // The verb's own words where it gives them.
  CHECK(has(help, "plain turns TLS off (a trusted network only; MANTA_TRANSPORT)"));
  CHECK(!lists(help, "token")); // read only to be refused: not listed
  CHECK(lists(help, "token-file"));
  CHECK(has(manta::tools::verb_help("timeline"), "  -o FILE, --output=FILE"));
  CHECK(has(manta::tools::verb_help("logs"), "  --node[=NAME]"));
  CHECK(has(manta::tools::verb_help("logs"), "  -f, --follow"));
}

TEST_CASE("values after '=' or as the next argument; an optional one only after '='") {
  auto a = parse("list", {"tasks", "--filter", "state=RUNNING", "--filter=name=f", "--limit", "5"});
  CHECK(a.error == "");
  CHECK(a.arguments == std::vector<std::string>{"tasks"});
  CHECK(a.values("filter") == std::vector<std::string>{"state=RUNNING", "name=f"});
  CHECK(a.value("limit") == "5");
  CHECK(parse("list", {"--address="}).value("address", "unset") == "");
  // `--node NAME`: NAME is the verb's argument, not the node's name.
  auto b = parse("logs", {"--node", "0000000000000001", "--tail", "3", "-f"});
  CHECK(b.error == "");
  CHECK(b.value("node", "unset") == "");
  CHECK(b.arguments == std::vector<std::string>{"0000000000000001"});
  CHECK(b.value("tail") == "3");
  CHECK(b.has("follow"));
  CHECK(parse("logs", {"--node=node-2", "--tail=1"}).value("node") == "node-2");
  CHECK(parse("logs", {"--node", "--tail=1"}).value("tail") == "1");
  // What follows `--` is the program's, its flags too.
  auto c = parse("start", {"--address=auto", "--num-cpus", "2", "--", "./app", "--num-cpus=9"});
  CHECK(c.error == "");
  CHECK(c.value("num-cpus") == "2");
  CHECK(c.program == std::vector<std::string>{"./app", "--num-cpus=9"});
  CHECK(parse("microbenchmark", {"--runs=2", "--runs=3"}).value("runs") == "3"); // the last
}

TEST_CASE("bad usage names the flag and says where the help is") {
  auto help = [](const char* verb) {
    return std::string{"\n  (manta "} + verb + " --help lists its options)";
  };
  CHECK(parse("list", {"tasks", "--limit"}).error == "--limit needs a value" + help("list"));
  CHECK(parse("start", {"--head=yes"}).error == "--head takes no value" + help("start"));
  CHECK(parse("stop", {"now"}).error == "unexpected argument 'now'" + help("stop"));
  CHECK(parse("list", {"tasks", "objects"}).error
        == "unexpected argument 'objects'" + help("list"));
  CHECK(parse("list", {"tasks", "--", "x"}).error == "unknown option '--'" + help("list"));
  auto typo = parse("list", {"tasks", "--fliter", "state=RUNNING"}).error;
  CHECK(typo == "unknown option '--fliter'\n  did you mean --filter?" + help("list"));
  CHECK(has(parse("start", {"--num-cpu=4"}).error, "did you mean --num-cpus=4?"));
  // No prefix of a name is taken for it.
  CHECK(has(parse("start", {"--num=4"}).error, "unknown option '--num=4'"));
  CHECK(has(parse("start", {"--head", "./app"}).error, "manta start --head -- ./app"));
}

TEST_CASE("a verb's usage for errors is its usage lines alone") {
  CHECK(manta::tools::verb_usage("list")
        == "usage: manta list tasks|actors|objects|nodes|placement-groups [--filter KEY=VALUE]...\n"
           "                  [--limit=N] [--format=table|json] [--address=HOST:PORT]\n");
  CHECK(manta::tools::verb_usage("status")
        == "usage: manta status [--address=HOST:PORT|auto] [--token-file=F] [TLS options]\n"
           "       manta status --dashboard=HOST:PORT\n");
}
