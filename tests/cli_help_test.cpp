// The `manta` command's own help: --version, --help on every verb, hints
// for unknown options and a worker's program given without `--`, and the
// exit codes the help documents (tools/command_help.hpp).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "tests/shell_command.hpp"

#include <caf/config.hpp>
#include <capnp/common.h>

#include <cstdlib>
#include <string>

namespace {

using manta_test::check_answer;
using manta_test::contains;

/// `manta ARGS` ($MANTA_EXE) with stdout and stderr: {exit code, output}.
std::pair<int, std::string> manta(const std::string& args) {
  // A runtime folder of its own: nothing here may start or find a daemon.
  return manta_test::run("MANTA_RUNTIME_DIR=/tmp/manta-cli-help-" + std::to_string(::getpid()) + " "
                         + manta_test::manta_tool() + " " + args);
}

} // namespace

TEST_CASE("manta --version names Manta's version and revision, CAF and Cap'n Proto") {
  auto [rc, out] = manta("--version");
  CHECK(rc == 0);
  CHECK(out.rfind(std::string{"manta "} + MANTA_VERSION + " (git ", 0) == 0);
  auto caf = "CAF " + std::to_string(CAF_VERSION / 10000) + "."
             + std::to_string(CAF_VERSION / 100 % 100) + "." + std::to_string(CAF_VERSION % 100);
  CHECK(contains(out, caf));
  CHECK(contains(out, "Cap'n Proto " + std::to_string(CAPNP_VERSION_MAJOR) + "."
                        + std::to_string(CAPNP_VERSION_MINOR) + "."
                        + std::to_string(CAPNP_VERSION_MICRO)));
  CHECK(contains(out, "OpenSSL "));
  // The revision vcs_tag wrote at build time: a commit of this checkout
  // (not necessarily HEAD: a commit since the last build is not in it).
  auto revision = out.substr(out.find("(git ") + 5);
  revision = revision.substr(0, revision.find_first_of("-)"));
  CAPTURE(revision);
  auto [git_rc, git_out] = manta_test::run(std::string{"git -C "} + MANTA_SOURCE_ROOT
                                           + " rev-parse --is-inside-work-tree");
  if (git_rc == 0 && git_out.rfind("true", 0) == 0) {
    CHECK(revision.size() >= 7);
    CHECK(revision.find_first_not_of("0123456789abcdef") == std::string::npos);
    auto [rc2, commit] = manta_test::run(std::string{"git -C "} + MANTA_SOURCE_ROOT
                                         + " rev-parse --verify --quiet " + revision + "^{commit}");
    CHECK(rc2 == 0);
  } else {
    CHECK(revision == "unknown");
  }
}

TEST_CASE("every verb answers --help with its usage and the exit codes") {
  for (auto verb :
       {"start", "stop", "status", "list", "memory", "timeline", "why", "microbenchmark"}) {
    CAPTURE(verb);
    for (auto flag : {"--help", "-h"}) {
      auto [rc, out] = manta(std::string{verb} + " " + flag);
      CHECK(rc == 0);
      CHECK(out.rfind(std::string{"usage: manta "} + verb, 0) == 0);
      CHECK(contains(out, "exit codes: 0 done; 1 the command ran and failed"));
    }
    auto [rc, out] = manta(std::string{"help "} + verb);
    CHECK(rc == 0);
    CHECK(out.rfind(std::string{"usage: manta "} + verb, 0) == 0);
  }
  // A flag after `--` is the worker program's, not a request for help.
  check_answer(manta("start --address=garbage -- ./prog --help"), 2, "bad address 'garbage'");
  auto [rc, out] = manta("--help");
  CHECK(rc == 0);
  CHECK(contains(out, "microbenchmark"));
  CHECK(contains(out, "2 bad usage"));
  check_answer(manta(""), 2, "usage: manta VERB");
  check_answer(manta("launch --head"), 2, "unknown verb 'launch'");
}

TEST_CASE("a worker's program without `--` gets the corrected command") {
  auto [rc, out] = manta("start --address=auto --num-cpus=2 ./prog --flag");
  CHECK(rc == 2);
  CHECK(contains(out, "manta start: unexpected argument './prog'"));
  CHECK(contains(out, "manta start --address=auto --num-cpus=2 -- ./prog --flag"));
}

TEST_CASE("an unknown option names the nearest one the verb takes") {
  auto [rc, out] = manta("start --head --num-cpu=4");
  CHECK(rc == 2);
  CHECK(contains(out, "unknown option '--num-cpu=4'"));
  CHECK(contains(out, "did you mean --num-cpus=4?"));
  std::tie(rc, out) = manta("start --head --cpus=4");
  CHECK(contains(out, "did you mean --num-cpus=4?"));
  check_answer(manta("list tasks --fliter state=RUNNING --address=127.0.0.1:1"), 2,
               "did you mean --filter?");
  check_answer(manta("microbenchmark --run=3"), 2, "did you mean --runs=3?");
  // Nothing near: no guess, but where the options are.
  std::tie(rc, out) = manta("start --head --colour=blue");
  CHECK(rc == 2);
  CHECK(!contains(out, "did you mean"));
  CHECK(contains(out, "manta start --help lists its options"));
  // `status` and `stop` used to ignore what they did not know.
  check_answer(manta("status --adress=127.0.0.1:1"), 2, "did you mean --address=127.0.0.1:1?");
  check_answer(manta("stop --all"), 2, "manta stop: unknown option '--all'");
}

TEST_CASE("a flag without its value, a switch with one, a bad value: the flag named") {
  const std::pair<const char*, const char*> cases[] = {
    {"start --head --port", "manta start: --port needs a value\n"
                            "  (manta start --help lists its options)"},
    {"start --head=yes", "manta start: --head takes no value"},
    {"start --head --port=99999", "--port=99999 is not a port"},
    {"status --transport=udp", "manta status: --transport expects tls"},
    {"microbenchmark --runs=lots",
     "manta microbenchmark: --runs expects a whole number of runs from 1 to 1000, got 'lots'"},
    {"list tasks --limit", "manta list: --limit needs a value"},
    {"list tasks --limit", "usage: manta list tasks|actors"},
    {"logs --node --tail=some --address=127.0.0.1:1",
     "manta logs: --tail takes a count of lines, not 'some'"},
    {"sim --jobs=0 -- true", "manta sim: --jobs: expected 1 to 1024, got '0'"},
    {"job status --adress=127.0.0.1:1 job-0001",
     "manta job: unknown option '--adress=127.0.0.1:1'\n  did you mean --address=127.0.0.1:1?"},
  };
  for (auto [args, said] : cases) {
    CAPTURE(args);
    auto [rc, out] = manta(args);
    CHECK(rc == 2);
    CHECK(contains(out, said));
  }
}
