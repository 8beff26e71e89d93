// `manta start` of a worker program that never becomes a worker: one that
// never calls manta::init(argc, argv), and one that calls manta::init()
// without its command line. Both are diagnosed with that fix named. This
// binary is the second program (--init-without-argv), started by `manta
// start` with --manta-worker added to its command line.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/shell_command.hpp"

#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

using manta_test::run;

/// `manta start` of a worker running `program`, in a runtime folder of its
/// own, against an address where no head listens (the program must not
/// even get that far).
std::pair<int, std::string> start_worker(const std::string& program) {
  auto dir = "/tmp/manta-worker-start-" + std::to_string(::getpid());
  auto out = run("MANTA_TOKEN=worker-start-test MANTA_RUNTIME_DIR=" + dir + " "
                 + manta_test::manta_tool() + " start --address=127.0.0.1:1 -- " + program);
  run("rm -rf " + dir);
  return out;
}

} // namespace

TEST_CASE("a worker program that never calls init(argc, argv) is diagnosed with the fix") {
  auto [rc, out] = start_worker("/bin/true");
  INFO(out);
  CHECK(rc == 1);
  CHECK(out.find("exited with status 0 without joining the cluster") != std::string::npos);
  CHECK(out.find("manta::init(argc, argv)") != std::string::npos);
  CHECK(out.find("exited at once") == std::string::npos);
}

TEST_CASE("a worker program that calls init() without its command line is told to pass it") {
  std::string self = std::string{"/proc/"} + std::to_string(::getpid()) + "/exe";
  char path[4096] = {};
  auto n = ::readlink(self.c_str(), path, sizeof(path) - 1);
  REQUIRE(n > 0);
  auto [rc, out] = start_worker(std::string{path, static_cast<size_t>(n)} + " --init-without-argv");
  INFO(out);
  CHECK(rc == 1);
  CHECK(out.find("before joining the cluster") != std::string::npos);
  CHECK(out.find("called manta::init() without its command line") != std::string::npos);
  CHECK(out.find("manta::init(argc, argv)") != std::string::npos);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view{argv[i]} == "--init-without-argv") {
      try {
        manta::init(); // the mistake under test
      } catch (const std::exception& e) {
        std::fprintf(stderr, "manta: %s\n", e.what());
        return 2;
      }
      return 0;
    }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
