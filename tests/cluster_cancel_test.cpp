// Cancel crosses nodes: a task or actor call the driver sent to a worker is
// cancelled there, not only on the driver (real worker processes; this
// binary is the head, the workers and the driver, see cluster_main.hpp).
// What happens on the worker is observed through files the tasks write.

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/file_tasks.hpp"

#include <manta/manta.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Loops until cancelled (at most 20 s), saying so in `path`.
int spin(std::string path) {
  append(path, "started in " + std::to_string(::getpid()));
  auto deadline = steady::now() + 20s;
  while (!manta::cancelled() && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  append(path, manta::cancelled() ? "cancelled" : "timed out");
  return 1;
}
MANTA_REMOTE(spin);

/// Submits `spin(path)` (it runs on this node) and waits for it.
int spin_child(std::string path) {
  return manta::get(manta::task(spin).remote(path));
}
MANTA_REMOTE(spin_child);

class spinner {
public:
  int spin(std::string path) { return ::spin(std::move(path)); }
  int touch(std::string path) { return ::mark(std::move(path)); }
};
MANTA_ACTOR(spinner, &spinner::spin, &spinner::touch);

/// A fresh folder for one case's files.
std::string scratch(const std::string& name) {
  return manta_test::scratch_dir("cluster_cancel", name);
}

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

/// Cancels `queued` once the driver has sent it to the worker, then
/// `running` (already running there): both end cancelled, `running` at once.
void cancel_queued_then_running(const manta::object_ref<int>& queued,
                                const manta::object_ref<int>& running) {
  REQUIRE(manta_test::wait_until_sent({queued.id()}));
  manta::cancel(queued);
  CHECK_THROWS_AS(manta::get(queued, 5s), manta::task_cancelled_error);
  auto t0 = steady::now();
  manta::cancel(running);
  CHECK_THROWS_AS(manta::get(running, 5s), manta::task_cancelled_error);
  CHECK(seconds_since(t0) < 1.0);
}

} // namespace

TEST_CASE("a task running on a worker sees cancelled() there; one queued there never runs") {
  manta::local_cluster c;
  auto worker = c.add_worker(1);
  c.join(0); // the driver runs nothing: every task goes to the worker
  auto dir = scratch("tasks");
  auto running = manta::task(spin).remote(dir + "/running");
  REQUIRE(manta_test::wait_for_text(dir + "/running", "started in " + std::to_string(worker), 30s));
  auto queued = manta::task(mark).remote(dir + "/queued");
  cancel_queued_then_running(queued, running);
  // The worker's run saw manta::cancelled() and stopped.
  CHECK(manta_test::wait_for_text(dir + "/running", "cancelled", 10s));
  // The worker's CPU is free again: a task sent after the queued one runs,
  // and the queued one (before it in the worker's queue) did not.
  CHECK(manta::get(manta::task(mark).remote(dir + "/later"), 20s) == 2);
  CHECK(manta_test::read_all(dir + "/later") == "ran\n");
  CHECK(manta_test::read_all(dir + "/queued").empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("cancel of a task on a worker cancels the tasks it submitted there") {
  manta::local_cluster c;
  auto worker = c.add_worker(2);
  c.join(0);
  auto dir = scratch("recursive");
  auto parent = manta::task(spin_child).remote(dir + "/child");
  REQUIRE(manta_test::wait_for_text(dir + "/child", "started in " + std::to_string(worker), 30s));
  manta::cancel(parent);
  CHECK_THROWS_AS(manta::get(parent, 5s), manta::task_cancelled_error);
  CHECK(manta_test::wait_for_text(dir + "/child", "cancelled", 10s));
  std::filesystem::remove_all(dir);
}

TEST_CASE("calls of an actor on a worker: running sees cancelled(), queued never runs") {
  manta_test::one_worker_cluster w{2, 0};
  auto& [c, worker, node] = w;
  auto dir = scratch("actor");
  auto a = manta::actor<spinner>().node_affinity(node).remote();
  auto running = a.call(&spinner::spin).remote(dir + "/running");
  REQUIRE(manta_test::wait_for_text(dir + "/running", "started in " + std::to_string(worker), 30s));
  auto queued = a.call(&spinner::touch).remote(dir + "/queued");
  cancel_queued_then_running(queued, running);
  CHECK(manta_test::wait_for_text(dir + "/running", "cancelled", 10s));
  // The actor serves its next call; the cancelled one before it never ran.
  CHECK(manta::get(a.call(&spinner::touch).remote(dir + "/later"), 20s) == 2);
  CHECK(manta_test::read_all(dir + "/queued").empty());
  std::filesystem::remove_all(dir);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
