// One cluster serves two jobs built from different code (docs/cluster.md,
// "Jobs"): a head and one generic worker (`manta start` without a program),
// and the drivers of job A and job B (tests/job_code/driver.cpp), each
// linked with its own library and naming it with --code-search-path. The
// libraries each have a function of the same name with other types, one of
// the same name and type with another body, and an actor class of the same
// name; both drivers run tasks and actor calls on the worker at the same
// time and each gets its own code's results (job A also a task that its
// code submits from the worker). A library that cannot be
// loaded, one that other users can write, a library without the function
// and a path that does not exist each fail with an error naming it, and a
// library whose function lays out a struct otherwise than the driver's
// build has its calls refused.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "tests/shell_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using manta_test::contains;
using manta_test::run;

/// `run` without doctest's checks, for the cluster's start and stop
/// outside the test cases.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr)
    return {-1, "popen failed"};
  char buf[512];
  while (auto n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string env(const char* name) {
  auto* v = std::getenv(name);
  return v != nullptr ? v : "";
}

/// The test's folder (0700) and cluster: a head and one generic worker of
/// 4 CPUs, in a runtime folder of the test's own.
struct cluster {
  std::string dir;
  std::string manta = env("MANTA_BIN");
  bool up = false;

  cluster() {
    char tmpl[] = "/tmp/manta-job-code-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return;
    }
    dir = tmpl;
    auto [head_rc,
          head_out] = shell(prefix() + manta + " start --head --port=0 --dashboard-port=off");
    auto [worker_rc, worker_out] = shell(prefix() + manta + " start --address=auto --num-cpus=4");
    up = head_rc == 0 && worker_rc == 0;
    if (!up)
      std::fprintf(stderr, "the cluster did not start:\n%s\n%s\n", head_out.c_str(),
                   worker_out.c_str());
  }

  ~cluster() {
    if (dir.empty())
      return;
    shell(prefix() + manta + " stop");
    fs::remove_all(dir);
  }

  std::string prefix() const { return "MANTA_RUNTIME_DIR=" + dir + "/runtime "; }

  /// The command line of a driver (JOB_DRIVER_A or _B) joining the cluster
  /// with `code` as its code search path, bounded in time.
  std::string driver(const char* which, const std::string& code, const std::string& args) const {
    return prefix() + "timeout 90 " + env(which) + " --address=auto --num-cpus=0"
           + " --code-search-path=" + code + " " + args;
  }
};

cluster* the_cluster = nullptr;

/// The test's cluster, which must have started.
cluster& up_cluster() {
  REQUIRE(the_cluster->up);
  return *the_cluster;
}

/// What job `which`'s driver (JOB_DRIVER_A or _B) says when it probes the
/// cluster with `code` as its code search path: exit status and output.
std::pair<int, std::string> probe(const char* which, const std::string& code) {
  return run(up_cluster().driver(which, code, "--mode=probe"));
}

/// Checks that `out` says each of `parts`.
void check_says(const std::string& out, std::initializer_list<std::string> parts) {
  for (auto& part : parts)
    CHECK_MESSAGE(contains(out, part), "not said: " << part);
}

} // namespace

TEST_CASE("two jobs from different code share one generic worker at the same time") {
  auto& c = up_cluster();
  auto barrier = c.dir + "/barrier";
  fs::create_directory(barrier);
  auto a = c.driver("JOB_DRIVER_A", env("JOB_LIB_A"), "--mode=work --barrier=" + barrier);
  auto b = c.driver("JOB_DRIVER_B", env("JOB_LIB_B"), "--mode=work --barrier=" + barrier);
  auto [rc, out] = run("(" + a + ") & pa=$!; (" + b
                       + ") & pb=$!; wait $pa; echo \"a=$?\"; "
                         "wait $pb; echo \"b=$?\"");
  INFO(out);
  check_says(out, {"a=0", "b=0", "job a: 117 results correct", "job b: 117 results correct"});
}

TEST_CASE("a library that cannot be loaded fails the task, naming it and the hint") {
  auto bad = up_cluster().dir + "/libnot_a_library.so";
  std::ofstream{bad} << "not an ELF file\n";
  ::chmod(bad.c_str(), 0644);
  auto [rc, out] = probe("JOB_DRIVER_A", bad);
  INFO(out);
  CHECK(rc == 0);
  check_says(out, {"probe error: ", "cannot load the job library " + bad,
                   "check the job's code search path"});
  CHECK_FALSE(contains(out, "probe result: "));
}

TEST_CASE("a library other users can write is refused") {
  auto open = up_cluster().dir + "/open";
  fs::create_directory(open);
  auto lib = open + "/libjob_code_a.so";
  fs::copy_file(env("JOB_LIB_A"), lib);
  ::chmod(lib.c_str(), 0666);
  auto [rc, out] = probe("JOB_DRIVER_A", lib);
  INFO(out);
  CHECK(contains(out, "refusing to load the job library: its file " + lib
                        + " is writable by every user"));
  CHECK_FALSE(contains(out, "probe result: "));
}

TEST_CASE("a function or class not in the job's library is an error naming the library") {
  // Job A's driver naming job B's library: no only_a, and B's job_actor has
  // no constructor taking an integer.
  auto lib_b = fs::canonical(env("JOB_LIB_B")).string();
  auto [rc, out] = probe("JOB_DRIVER_A", lib_b);
  INFO(out);
  check_says(out, {"no function named 'only_a' in the job's code on node-", lib_b,
                   "add MANTA_REMOTE(only_a) to one of these libraries",
                   "has no constructor of job_actor"});
  CHECK_FALSE(contains(out, "probe result: "));
}

TEST_CASE("a job library whose function lays out its types otherwise is refused per call") {
  // Job A's driver (point{int32, float32}) naming a build of its library
  // with point{float32, int32}: not refused at join for that (its code is
  // the library's), but the call of `measure` is, and the rest runs. The
  // worker ran job A's `measure` from the other library before (the first
  // case): each library keeps its own layouts.
  auto [rc, out] = probe("JOB_DRIVER_A", env("JOB_LIB_A_SKEW"));
  INFO(out);
  CHECK(rc == 0);
  check_says(out, {"probe result: -7\n", "probe result: 100\n",
                   "probe error: function 'measure' lays out its types differently on node-"});
  CHECK_FALSE(contains(out, "probe result: 3.5"));
}

TEST_CASE("a library built with GCC's unique symbols is refused, naming the fix") {
  up_cluster();
  auto lib = env("JOB_LIB_B_UNIQUE");
  if (lib.empty()) {
    MESSAGE("skipped: this compiler makes no unique symbols");
    return;
  }
  auto [rc, out] = probe("JOB_DRIVER_B", lib);
  INFO(out);
  check_says(out, {"cannot load the job library " + fs::canonical(lib).string(),
                   "was built with GCC's unique symbols", "rebuild it with -fno-gnu-unique"});
  CHECK_FALSE(contains(out, "probe result: "));
}

TEST_CASE("a code search path that does not exist is refused at init") {
  auto missing = up_cluster().dir + "/no_such_library.so";
  auto [rc, out] = probe("JOB_DRIVER_A", missing);
  INFO(out);
  CHECK(rc == 2);
  check_says(out, {"the code search path names " + missing + ", which does not exist",
                   "--code-search-path, MANTA_CODE_SEARCH_PATH"});
}

int main(int argc, char** argv) {
  for (auto* name :
       {"MANTA_BIN", "JOB_DRIVER_A", "JOB_DRIVER_B", "JOB_LIB_A", "JOB_LIB_A_SKEW", "JOB_LIB_B"})
    if (env(name).empty()) {
      std::printf("skipped: %s is not set (meson test sets it)\n", name);
      return 77;
    }
  cluster c;
  the_cluster = &c;
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
