// Version skew between the binaries of one cluster: the same function, the
// same struct name and size, the struct's fields in another order. CAF's
// mangled signature is the same in both builds, so before build fingerprints
// the worker decoded the driver's point as its own layout and returned a
// wrong value without an error.
//
// This file is compiled twice (tests/meson.build): `version_skew_test` with
// point {int x; float y;} and `version_skew_other` with -DMANTA_SKEW_OTHER
// and point {float x; int y;}. The test binary is head, driver and workers
// (manta::local_cluster); a worker started with --skew-other-build execs the
// other binary (MANTA_SKEW_OTHER) with the rest of its command line.
#include <manta/cluster/build_fingerprint.hpp>
#include <manta/core/codec.hpp>
#include <manta/sched/function_registry.hpp>
#include <manta/core/runtime.hpp>
#include <manta/net/wire.hpp>
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/task_answer.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
namespace wire = manta::detail::wire;

#ifdef MANTA_SKEW_OTHER
struct point {
  float x = 0;
  int y = 0;
};
#else
struct point {
  int x = 0;
  float y = 0;
};
#endif

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.y);
}

namespace {

/// The same in both builds when both decode the same point.
double scale(point p, int k) {
  return (static_cast<double>(p.x) + static_cast<double>(p.y)) * k;
}
MANTA_REMOTE(scale);

constexpr double expected = (3 + 0.5) * 4; // scale of point{3, 0.5} by 4

/// point{3, 0.5} in this build's layout.
point sample() {
#ifdef MANTA_SKEW_OTHER
  return {0.5f, 3};
#else
  return {3, 0.5f};
#endif
}

/// scale(sample(), 4) on the cluster.
double scale_here() {
  return manta::get(manta::task(scale).remote(sample(), 4), 20s);
}

/// Waits (up to `limit`) until `path` contains `text`.
bool log_shows(const std::string& path, const std::string& text, std::chrono::seconds limit = 20s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (manta_test::read_all(path).find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string this_build_id() {
  return manta::detail::build_id(manta::detail::this_build().hash);
}

} // namespace

TEST_CASE("a worker of another build is refused at join, naming both builds and the type") {
  manta::local_cluster c;
  c.join(0); // no CPUs: every task of this driver runs on a worker
  auto log = c.dir() + "/other-worker.log";
  auto pid = c.add_worker(1, "", {"--skew-other-build"}, log);
  // The worker hears why and leaves with an error.
  CHECK(manta_test::exit_status(pid, 20s) != 0);
  auto text = manta_test::read_all(log);
  INFO("worker log: " << text);
  CHECK(
    text.find("joining the cluster failed: this worker (pid " + std::to_string(pid) + ", build ")
    != std::string::npos);
  CHECK(text.find("runs another build than driver node-") != std::string::npos);
  CHECK(text.find(", build " + this_build_id() + ") already in the cluster") != std::string::npos);
  CHECK(text.find("function 'scale' differs: argument 1 is point{float32, int32} here and "
                  "point{int32, float32} there")
        != std::string::npos);
  CHECK(text.find("run the same binary") != std::string::npos);
  CHECK(c.head_log().find("manta head: refused a worker: this worker (pid " + std::to_string(pid))
        != std::string::npos);
  // Its build differs from this one, and the message names it.
  auto at = text.find(", build ");
  REQUIRE(at != std::string::npos);
  CHECK(text.substr(at + 8, 12) != this_build_id());
  // No wrong value: the refused worker never counts, and a worker of this
  // build still joins and computes the right one.
  CHECK(manta::cluster_resources()["CPU"] == 0);
  c.add_worker(1);
  c.wait_for_cpus(1);
  for (int i = 0; i < 20; ++i)
    CHECK(scale_here() == expected);
}

TEST_CASE("a driver of another build is refused when a worker of this build is in") {
  manta::local_cluster c;
  auto log = c.dir() + "/other-worker.log";
  // The other build is in first this time: it is the cluster's build.
  auto pid = c.add_worker(1, "", {"--skew-other-build"}, log);
  REQUIRE(log_shows(log, "joined the cluster"));
  std::string refusal;
  try {
    c.join(0);
    // Before fingerprints the driver joined and got the other layout's
    // answer; fail with it.
    refusal = "joined; scale gave " + std::to_string(scale_here()) + ", not "
              + std::to_string(expected);
    manta::shutdown();
  } catch (const manta::error& e) {
    refusal = e.what();
  }
  INFO("refusal: " << refusal);
  CHECK(refusal.find("this driver (pid " + std::to_string(::getpid()) + ", build " + this_build_id()
                     + ") runs another build than worker node-1 (pid " + std::to_string(pid))
        != std::string::npos);
  CHECK(refusal.find("function 'scale' differs: argument 1 is point{int32, float32} here and "
                     "point{float32, int32} there")
        != std::string::npos);
  // The worker keeps serving its own build's drivers: this process, after
  // the failed join, is not in the cluster, so it may join again later.
  int status = 0;
  CHECK(::waitpid(pid, &status, WNOHANG) == 0); // still running
}

TEST_CASE("a call whose layout hash differs is refused by the node, not decoded") {
  // What a node of a build without the join check (or any caller that
  // reached it) sends: the right name and signature, another layout hash.
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0);
  auto& rt = manta::detail::runtime::require("layout check");
  caf::scoped_actor self{rt.system()};
  auto manager = manta_test::only_worker_manager(c.token());
  REQUIRE(manager);
  auto* fn = manta::detail::find_function("scale");
  REQUIRE(fn != nullptr);
  auto send = [&](uint64_t task_id, uint64_t layout_hash) {
    wire::task_message t;
    t.task_id = task_id;
    t.function_name = "scale";
    t.signature = fn->signature;
    t.args = {manta::detail::encode(sample()), manta::detail::encode(4)};
    t.demand.cpus = 1;
    t.layout_hash = layout_hash;
    self->send(*manager, manta::actors::submit_atom::value, c.token(), wire::encode(t));
    manta_test::task_answer r;
    if (!manta_test::receive_answer(self, r, 10s))
      FAIL("no answer from the worker");
    REQUIRE(r.undecodable == "");
    return r;
  };
  auto theirs = fn->layout().hash ^ 0x5a5a;
  auto refused = send(0xfeed, theirs);
  REQUIRE(refused.kind == wire::result_message::failure);
  CHECK(refused.error.kind == manta::detail::error_kind::unknown_function);
  CHECK(refused.error.message.find("function 'scale' lays out its types differently on node-")
        != std::string::npos);
  CHECK(refused.error.message.find("here it is (point{int32, float32}, int32) -> float64")
        != std::string::npos);
  CHECK(refused.error.message.find(this_build_id()) != std::string::npos);
  // The right hash runs.
  auto ran = send(0xfeee, fn->layout().hash);
  REQUIRE(ran.kind == wire::result_message::inline_value);
  double v = 0;
  REQUIRE(!manta::detail::decode(ran.value, v));
  CHECK(v == expected);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view{argv[i]} == "--skew-other-build") {
      auto* other = std::getenv("MANTA_SKEW_OTHER");
      if (other == nullptr || *other == '\0') {
        std::fprintf(stderr, "--skew-other-build needs MANTA_SKEW_OTHER (the other build)\n");
        return 2;
      }
      std::vector<char*> args{other};
      for (int j = 1; j < argc; ++j)
        if (j != i)
          args.push_back(argv[j]);
      args.push_back(nullptr);
      ::execv(other, args.data());
      std::perror("execv MANTA_SKEW_OTHER");
      return 2;
    }
  return manta_test::cluster_test_main(argc, argv);
}
