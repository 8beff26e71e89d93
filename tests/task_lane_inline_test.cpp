// A lone lane task run on the worker's data path thread that read its spec
// (MANTA_TASK_LANE=1, set for this test in tests/meson.build;
// net/transfer_connection.cpp, `on_lane_frame`): no pool thread is woken
// for it. While such a task runs, however long, the lane's next specs and
// the worker's object fetches go on, served by the data path's other loop
// thread (the later specs then run on the pool). Real node processes (this
// binary is head, workers and driver: cluster_main.hpp), in plain TCP and
// TLS clusters.

#include "actors/task_lanes.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/lane_tasks.hpp"

#include <manta/manta.hpp>
#include <manta/net/object_transfer.hpp>
#include <manta/net/task_lane.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// The name of the thread that runs it: "manta-data" on the data path's
/// loop threads (the lane on), the process's name on the pool's.
std::string thread_name() {
  std::array<char, 32> name{};
  ::pthread_getname_np(::pthread_self(), name.data(), name.size());
  return name.data();
}

std::string where() {
  return thread_name();
}
MANTA_REMOTE(where);

/// Writes "ran X on THREAD" to `path`, waits until `gate` says "go" (60 s
/// at most), then returns x * 10.
int gated_where(std::string path, std::string gate, int x) {
  std::ofstream{path, std::ios::app} << "ran " << x << " on " << thread_name() << '\n';
  manta_test::wait_for_text(gate, "go", 60s);
  return x * 10;
}
MANTA_REMOTE(gated_where);

/// 4 MiB: held on the worker, fetched from its data path.
std::vector<char> big_held() {
  return std::vector<char>(4u << 20, 'x');
}
MANTA_REMOTE(big_held);

/// The bytes the worker's data path served so far.
uint64_t served() {
  return manta::detail::bytes_served();
}
MANTA_REMOTE(served);

manta::tls_options transport(bool tls) {
  manta::tls_options t;
  t.plain = !tls;
  return t;
}

/// A worker of 4 CPUs (room for a task while the one before still holds
/// its CPU a moment after its answer), joined by this driver with none of
/// its own, its lane up.
void lane_worker(manta::local_cluster& c) {
  c.add_worker(4);
  c.join(0);
  wait_for_lane();
}

/// Waits (up to 20 s) until `path` holds a line "ran X on ...": its thread.
std::string ran_on(const std::string& path, int x) {
  auto tag = "ran " + std::to_string(x) + " on ";
  for (auto until = steady::now() + 20s; steady::now() < until; std::this_thread::sleep_for(1ms)) {
    auto text = manta_test::read_all(path);
    auto at = text.find(tag);
    auto end = at == std::string::npos ? at : text.find('\n', at);
    if (end != std::string::npos)
      return text.substr(at + tag.size(), end - at - tag.size());
  }
  return "";
}

} // namespace

TEST_CASE("a lone lane task runs on the data path thread that read its spec") {
  for (bool tls : {false, true}) {
    CAPTURE(tls);
    manta::local_cluster c{transport(tls)};
    lane_worker(c);
    // One after the other, each alone: each may run on the reading thread.
    // A spec that comes while the thread before has not yet given its
    // place back (a moment after its answer; longer when the driver's
    // threads take the cores then) goes to the pool, so not all do.
    int on_data_path = 0;
    for (int i = 0; i < 100 && on_data_path < 5; ++i) {
      auto answers = lane::answers_read();
      auto name = manta::get(manta::task(where).remote(), 20s);
      CHECK(lane::answers_read() == answers + 1); // answered on the lane
      on_data_path += name == "manta-data" ? 1 : 0;
    }
    CHECK(on_data_path == 5);
  }
}

TEST_CASE(
  "a long task run on the reading thread stalls neither its lane nor the worker's fetches") {
  for (bool tls : {false, true}) {
    CAPTURE(tls);
    manta::local_cluster c{transport(tls)};
    lane_worker(c);
    auto dir = manta_test::scratch_dir("task_lane_inline", tls ? "tls" : "plain");
    auto gate = dir + "/gate";
    auto runs = dir + "/runs";
    auto open_gate = [&] { std::ofstream{gate, std::ios::app} << "go\n"; };
    // A 4 MiB result held on the worker, not read yet.
    auto held = manta::task(big_held).remote();
    REQUIRE(
      manta::wait(std::vector<manta::object_ref<std::vector<char>>>{held}, 1, 30s).ready.size()
      == 1);
    // A long task on the reading thread: tried again (after its gate opens)
    // in the rare run where its spec came before the thread before it had
    // given its place back.
    int x = 0;
    std::string thread;
    for (; x < 5 && thread != "manta-data"; ++x) {
      std::filesystem::remove(gate);
      auto r = manta::task(gated_where).remote(runs, gate, x);
      thread = ran_on(runs, x);
      if (thread != "manta-data") {
        open_gate();
        CHECK(manta::get(r, 30s) == x * 10);
        continue;
      }
      // While it runs: the lane's next spec is read and run (on the pool;
      // not alone, it is answered through the node manager), and the held
      // result is fetched from the worker's data path.
      auto t0 = steady::now();
      auto specs = lane::specs_sent();
      auto resent = manta::actors::lane_count(manta::actors::lane_event::resent);
      auto opened = manta::actors::lane_count(manta::actors::lane_event::opened);
      CHECK(manta::get(manta::task(where).remote(), 10s) != "manta-data");
      CHECK(lane::specs_sent() == specs + 1);
      auto before = manta::get(manta::task(served).remote(), 10s);
      auto value = manta::get(held, 10s);
      CHECK(value.size() == (4u << 20));
      CHECK(manta::get(manta::task(served).remote(), 10s) >= before + (4u << 20));
      CHECK(std::chrono::duration<double>(steady::now() - t0).count() < 10.0);
      // On the same lane all along: not stalled until the driver reset it
      // and sent its tasks again over CAF.
      CHECK(manta::actors::lane_count(manta::actors::lane_event::resent) == resent);
      CHECK(manta::actors::lane_count(manta::actors::lane_event::opened) == opened);
      // Still running all along: it returns only now.
      CHECK(manta::wait(std::vector<manta::object_ref<int>>{r}, 1, 0ms).ready.empty());
      open_gate();
      CHECK(manta::get(r, 30s) == x * 10);
    }
    CHECK(thread == "manta-data");
    open_gate();
    std::filesystem::remove_all(dir);
  }
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
