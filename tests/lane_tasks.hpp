#pragma once

// What the task lane's suites share (task_lane_test.cpp in plain TCP,
// task_lane_tls_test.cpp in TLS; MANTA_TASK_LANE=1 for both): the file
// tasks of the cluster suites, a count of the specs a worker's data path
// hosted, and the waits for the lane to be up and to have carried specs.

#include "actors/lane_direct.hpp"
#include "actors/task_lanes.hpp"
#include "tests/file_tasks.hpp"

#include <manta/manta.hpp>
#include <manta/net/task_lane.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <doctest/doctest.h>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace lane = manta::detail::task_lane;

/// The specs the data path of the node running it handed to its pool
/// itself (run on the worker: its count, this task's spec included).
uint64_t direct_specs() {
  return manta::actors::direct_lane_specs();
}
MANTA_REMOTE(direct_specs);

/// Counts its run in `path` ("ran X"), waits until `gate` says "go" (60 s
/// at most), then returns x * 10.
int gated(std::string path, std::string gate, int x) {
  append(path, "ran " + std::to_string(x));
  manta_test::wait_for_text(gate, "go", std::chrono::seconds{60});
  return x * 10;
}
MANTA_REMOTE(gated);

/// Sleeps `us` microseconds, then returns x + 1.
int nap_plus_one(int x, int us) {
  std::this_thread::sleep_for(std::chrono::microseconds{us});
  return x + 1;
}
MANTA_REMOTE(nap_plus_one);

/// The options of a plain TCP cluster (the lane without TLS).
inline manta::tls_options plain() {
  manta::tls_options t;
  t.plain = true;
  return t;
}

/// Waits until the lane to the (only) worker is up: a task goes on it.
inline void wait_for_lane() {
  REQUIRE(lane::enabled());
  auto before = lane::specs_sent();
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
       lane::specs_sent() == before;) {
    REQUIRE(std::chrono::steady_clock::now() < until);
    CHECK(manta::get(manta::task(plus_one).remote(1), std::chrono::seconds{20}) == 2);
  }
}

/// Waits (up to 10 s) until this driver has written `n` specs on its lanes
/// in all: a task's record says where it went just before its spec is
/// written.
inline bool specs_reach(uint64_t n) {
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds{10};
       lane::specs_sent() < n;) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return lane::specs_sent() == n;
}

/// `n` threads that each submit lone tasks (`nap_plus_one` napping
/// `nap_us`), one round trip after another, until stopped, counting the
/// answers and the wrong ones (a wrong value or an error, told).
class lone_task_streams {
public:
  lone_task_streams(int n, int nap_us) {
    for (int t = 0; t < n; ++t)
      threads_.emplace_back([this, t, n, nap_us] {
        for (int i = t; !stop_; i += n) {
          try {
            if (manta::get(manta::task(nap_plus_one).remote(i, nap_us), std::chrono::seconds{60})
                != i + 1)
              ++wrong_;
          } catch (const std::exception& e) {
            ++wrong_;
            MESSAGE("task " << i << ": " << e.what());
          }
          ++done_;
        }
      });
  }
  lone_task_streams(const lone_task_streams&) = delete;
  lone_task_streams& operator=(const lone_task_streams&) = delete;
  ~lone_task_streams() { stop(); }

  /// Stops the threads once their tasks in flight are answered.
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  int done() const noexcept { return done_; }
  int wrong() const noexcept { return wrong_; }

private:
  std::atomic<bool> stop_{false};
  std::atomic<int> wrong_{0};
  std::atomic<int> done_{0};
  std::vector<std::thread> threads_;
};

// -- the cases both suites run, each in its own cluster ----------------------

/// 50 lone tasks, each spec and answer on the lane, each value sealed by
/// the lane's reader, not by the client (a worker is up, with its lane).
inline void check_lone_tasks_on_lane() {
  using namespace std::chrono_literals;
  for (int i = 0; i < 50; ++i) {
    auto specs = lane::specs_sent();
    auto answers = lane::answers_read();
    auto sealed = manta::actors::lane_count(manta::actors::lane_event::sealed);
    CHECK(manta::get(manta::task(plus_one).remote(i), 20s) == i + 1);
    CHECK(lane::specs_sent() == specs + 1);
    CHECK(lane::answers_read() == answers + 1);
    CHECK(manta::actors::lane_count(manta::actors::lane_event::sealed) == sealed + 1);
  }
}

/// A std::vector<char> of 100 KiB: its bytes come beside the answer's
/// message (over TLS in several records) and the reader moves them in.
inline void check_large_answer_on_lane() {
  using namespace std::chrono_literals;
  auto sealed = manta::actors::lane_count(manta::actors::lane_event::sealed);
  auto v = manta::get(manta::task(bytes_of).remote(100 << 10, 'q'), 20s);
  CHECK(manta::actors::lane_count(manta::actors::lane_event::sealed) == sealed + 1);
  CHECK(v.size() == (100u << 10));
  CHECK(std::count(v.begin(), v.end(), 'q') == static_cast<long>(v.size()));
}

/// A retryable failure goes back to the driver, which sends the task again
/// on the lane (a worker of `c`'s is up, with its lane); scratch folder `dir`.
inline void check_lane_retry(const std::string& dir) {
  using namespace std::chrono_literals;
  auto specs = lane::specs_sent();
  auto r = manta::task(flaky).max_retries(2).retry_exceptions(true).remote(dir + "/tries");
  CHECK(manta::get(r, 30s) == 7);
  CHECK(lane::specs_sent() == specs + 2); // both runs went on the lane
  CHECK(manta_test::count_of(manta_test::read_all(dir + "/tries"), "try") == 2);
}

/// Cancel reaches a lane task while it runs on `worker` (its pid; one CPU)
/// and another while it queues behind it there.
inline void check_lane_cancel(pid_t worker, const std::string& dir) {
  using namespace std::chrono_literals;
  auto specs = lane::specs_sent();
  auto running = manta::task(slow_pid).remote(dir + "/running", 20000);
  REQUIRE(manta_test::wait_for_text(dir + "/running", "started in " + std::to_string(worker), 30s));
  auto queued = manta::task(mark).remote(dir + "/queued");
  REQUIRE(manta_test::wait_until_sent({queued.id()}));
  CHECK(specs_reach(specs + 2));
  manta::cancel(queued);
  CHECK_THROWS_AS(manta::get(queued, 10s), manta::task_cancelled_error);
  auto t0 = std::chrono::steady_clock::now();
  manta::cancel(running);
  CHECK_THROWS_AS(manta::get(running, 10s), manta::task_cancelled_error);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 2.0);
  CHECK(manta_test::wait_for_text(dir + "/running", "cancelled", 10s));
  // The worker's CPU is free again; the queued task never ran.
  CHECK(manta::get(manta::task(mark).remote(dir + "/later"), 20s) == 2);
  CHECK(manta_test::read_all(dir + "/queued").empty());
}

/// Worker `w1` of `c`, its lane up, killed with -9 while a lane task runs
/// there: the task runs again on a second worker, whose lane then carries
/// tasks.
inline void check_lane_worker_killed(manta::local_cluster& c, pid_t w1, const std::string& dir) {
  using namespace std::chrono_literals;
  auto specs = lane::specs_sent();
  auto r = manta::task(slow_pid).remote(dir + "/slow", 3000);
  REQUIRE(manta_test::wait_for_text(dir + "/slow", "started in " + std::to_string(w1), 30s));
  // The worker may start it before the client's thread, back from the
  // write, has counted the spec: wait for the count.
  CHECK(specs_reach(specs + 1));
  auto w2 = c.add_worker(1);
  c.wait_for_cpus(2);
  c.kill_worker(w1, 1);
  CHECK(manta::get(r, 30s) == w2);
  auto now = lane::specs_sent();
  CHECK(manta::get(manta::task(plus_one).remote(3), 20s) == 4);
  CHECK(lane::specs_sent() == now + 1);
}

} // namespace
