// `manta job submit|list|status|logs|stop` run by the real tool on real
// processes, in a runtime folder of the test's own (MANTA_RUNTIME_DIR),
// with a head of the test's own (`manta start --head`): job ids and the
// job table are the head's.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "shell_command.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

/// The `manta` tool with the test's runtime folder.
struct jobs {
  std::string dir;
  std::string bin;

  jobs() {
    auto* b = std::getenv("MANTA_BIN");
    REQUIRE_MESSAGE(b != nullptr, "MANTA_BIN must name the manta tool (meson test sets it)");
    bin = b;
    char tmpl[] = "/tmp/manta-jobs-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    // Its head on a free port; `manta job` finds it (--address=auto).
    auto [rc, out] = manta("start --head --port=0 --dashboard-port=0");
    REQUIRE_MESSAGE(rc == 0, out);
  }
  ~jobs() {
    manta("stop");
    std::filesystem::remove_all(dir);
  }

  std::pair<int, std::string> manta(const std::string& args) const {
    return manta_test::run("MANTA_RUNTIME_DIR=" + dir + " " + bin + " " + args);
  }

  std::pair<int, std::string> operator()(const std::string& args) const {
    return manta("job " + args);
  }

  /// Waits (up to 10 s) until `manta job status ID` says `state`.
  bool reaches(const std::string& id, const std::string& state) const {
    for (auto until = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms))
      if ((*this)("status " + id).second.find("\"state\":\"" + state + "\"") != std::string::npos)
        return true;
    return false;
  }
};

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

} // namespace

TEST_CASE("jobs get ids, their output, and their end: FINISHED, FAILED, STOPPED") {
  jobs job;
  auto [rc1, out1] = job("submit -- sh -c 'echo hello from the job; sleep 60'");
  REQUIRE(rc1 == 0);
  auto running = first_line(out1);
  CHECK(running == "job-0001");
  auto [rc2, out2] = job("submit -- sh -c 'echo done; exit 0'");
  auto finished = first_line(out2);
  CHECK(finished == "job-0002");
  auto [rc3, out3] = job("submit -- sh -c 'echo broken >&2; exit 3'");
  auto failed = first_line(out3);
  CHECK(failed == "job-0003");

  CHECK(job.reaches(running, "RUNNING"));
  CHECK(job.reaches(finished, "FINISHED"));
  CHECK(job.reaches(failed, "FAILED"));
  CHECK(job("status " + failed).second.find("\"exit_code\":3") != std::string::npos);
  // Output, stderr included, is kept in the job's log.
  for (auto until = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < until
       && job("logs " + running).second.find("hello from the job") == std::string::npos;)
    std::this_thread::sleep_for(10ms);
  CHECK(job("logs " + running).second.find("hello from the job") != std::string::npos);
  CHECK(job("logs " + failed).second.find("broken") != std::string::npos);

  auto [lrc, listing] = job("list");
  CHECK(lrc == 0);
  CHECK(listing.find("JOB_ID") != std::string::npos);
  CHECK(listing.find("job-0001   RUNNING") != std::string::npos);
  CHECK(listing.find("job-0002   FINISHED") != std::string::npos);
  CHECK(listing.find("sh -c echo hello from the job; sleep 60") != std::string::npos);

  auto [src, stopped] = job("stop " + running);
  CHECK(src == 0);
  CHECK(stopped.find("STOPPED") != std::string::npos);
  CHECK(job.reaches(running, "STOPPED"));
}

TEST_CASE("job verbs name what is wrong") {
  jobs job;
  auto [rc, out] = job("status job-0042");
  CHECK(rc == 2);
  CHECK(out.find("no job 'job-0042' is known to the head") != std::string::npos);
  CHECK(out.find("manta job list") != std::string::npos);
  manta_test::check_answer(job("logs job-0042"), 2, "was submitted from this machine");
  manta_test::check_answer(job("submit"), 2, "after `--`");
  manta_test::check_answer(job("frobnicate"), 2, "unknown verb 'frobnicate'");
  // Without a head there is no job id to get: said, with the address.
  manta_test::check_answer(job("submit --address=127.0.0.1:1 -- true"), 1,
                           "cannot reach 127.0.0.1:1");
}
