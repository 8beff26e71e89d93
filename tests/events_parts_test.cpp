// The task event recorder is a part of its runtime (task_events.hpp,
// `runtime::events()`): a second `init` lists none of the first's tasks,
// live or finished, and records with its own options; a task left running
// past `shutdown` records its end nowhere, with no runtime or in the next
// one, and with no runtime the listings are empty.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <manta/core/runtime.hpp>
#include <manta/observe/task_events.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace task_events = manta::detail::task_events;

/// What the blocked tasks wait for, and how many of their threads exited.
struct gates {
  std::mutex mtx;
  std::condition_variable cv;
  int started = 0;
  int released = 0; // blocked tasks with a number below this return
  int exited = 0;
};

gates& g() {
  static gates x;
  return x;
}

/// Counts its thread's exit: a pool thread exits after its last task's end
/// was recorded (or not), so the count says the end hook ran.
struct exit_counter {
  bool armed = false;
  ~exit_counter() {
    if (!armed)
      return;
    std::lock_guard<std::mutex> guard{g().mtx};
    ++g().exited;
    g().cv.notify_all();
  }
};

/// Runs until the test releases task number `n`.
int blocked(int n) {
  thread_local exit_counter on_exit;
  on_exit.armed = true;
  std::unique_lock<std::mutex> guard{g().mtx};
  ++g().started;
  g().cv.notify_all();
  g().cv.wait(guard, [&] { return g().released > n; });
  return n;
}

int one(int x) {
  return x;
}

MANTA_REMOTE(blocked, one);

/// Waits up to 10 s for `pred` (under the gates' lock).
template <class Pred>
bool wait_for(Pred pred) {
  std::unique_lock<std::mutex> guard{g().mtx};
  return g().cv.wait_for(guard, 10s, pred);
}

void release(int upto) {
  std::lock_guard<std::mutex> guard{g().mtx};
  g().released = upto;
  g().cv.notify_all();
}

manta::init_options options(size_t history, bool events = true) {
  manta::init_options opts;
  opts.num_cpus = 2;
  opts.task_history = history;
  opts.task_events = events;
  return opts;
}

size_t count_named(const std::vector<manta::task_info>& ts, const std::string& name) {
  size_t n = 0;
  for (auto& t : ts)
    n += t.name == name ? 1 : 0;
  return n;
}

} // namespace

TEST_CASE("a second init lists none of the first's tasks; a late end is recorded nowhere") {
  manta::init(options(100));
  for (int i = 0; i < 5; ++i)
    CHECK(manta::get(manta::task(one).name("first").remote(i), 10s) == i);
  // Two tasks still run when the runtime shuts down (past its grace).
  auto a = manta::task(blocked).name("left_behind").remote(0);
  auto b = manta::task(blocked).name("left_behind").remote(1);
  REQUIRE(wait_for([] { return g().started == 2; }));
  CHECK(count_named(manta::list_tasks(), "first") == 5);
  CHECK(count_named(manta::list_tasks(), "left_behind") == 2);
  manta::shutdown();

  // No runtime: the listings are empty, though the two tasks still live.
  CHECK(manta::detail::runtime::live() == nullptr);
  CHECK(task_events::live_tasks().empty());
  CHECK(task_events::finished_tasks().empty());
  CHECK(task_events::finished_totals().finished == 0);
  CHECK(task_events::current_thread_id() == 0);
  // The first ends with no runtime: its hooks do nothing.
  release(1);
  REQUIRE(wait_for([] { return g().exited == 1; }));
  CHECK(task_events::finished_totals().finished == 0);

  // A second runtime, with a history of 3: none of the first's tasks.
  manta::init(options(3));
  CHECK(count_named(manta::list_tasks(), "first") == 0);
  CHECK(count_named(manta::list_tasks(), "left_behind") == 0);
  CHECK(manta::count_tasks().finished == 0);
  CHECK(manta::count_tasks().running == 0);
  // The second of the first's tasks ends while it runs: not recorded here.
  release(2);
  REQUIRE(wait_for([] { return g().exited == 2; }));
  CHECK(count_named(manta::list_tasks(), "left_behind") == 0);
  CHECK(manta::count_tasks().finished == 0);
  // Its own tasks are recorded, into a history of 3.
  for (int i = 0; i < 5; ++i)
    CHECK(manta::get(manta::task(one).name("second").remote(i), 10s) == i);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (manta::count_tasks().finished < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CHECK(manta::count_tasks().finished == 5);
  CHECK(count_named(manta::list_tasks(), "second") == 3);
  CHECK(count_named(manta::list_tasks(), "first") == 0);
  manta::shutdown();
}

TEST_CASE("each init's events option applies") {
  manta::init(options(100, false));
  CHECK(manta::get(manta::task(one).name("untracked").remote(1), 10s) == 1);
  CHECK(manta::list_tasks().empty());
  manta::shutdown();
  manta::init(options(100, true));
  CHECK(manta::get(manta::task(one).name("tracked").remote(1), 10s) == 1);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (manta::count_tasks().finished < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CHECK(count_named(manta::list_tasks(), "tracked") == 1);
  CHECK(count_named(manta::list_tasks(), "untracked") == 0);
  manta::shutdown();
}
