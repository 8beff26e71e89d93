/// Task dependencies: pass an object_ref to a task and Manta runs it once the
/// value behind it exists. The driver wires a graph without waiting on any
/// intermediate value, and branches that do not depend on each other overlap.
///
///   dependency_graph_demo [--fast] [--num-cpus=N]

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;

/// Simulated work per step, shortened by --fast.
std::chrono::milliseconds step_time = 100ms;

int step_one() {
  std::this_thread::sleep_for(step_time);
  return 20;
}
int step_two(int x) {
  std::this_thread::sleep_for(step_time);
  return x * 2;
}
int step_three(int x) {
  std::this_thread::sleep_for(step_time);
  return x + 3;
}
MANTA_REMOTE(step_one, step_two, step_three);

/// Seconds on the machine's monotonic clock, comparable between tasks.
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// A value with the interval during which the task computed it.
struct stamped {
  int value;
  double start_s, end_s;
};

/// One independent branch of the diamond: `ms` of simulated work.
stamped branch(int x, int factor, int ms) {
  double start = now_s();
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return {x * factor, start, now_s()};
}

int combine(const stamped& left, const stamped& right) {
  return left.value + right.value;
}
MANTA_REMOTE(branch, combine);

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  if (fast)
    step_time = 10ms;

  // -- a chain: each step waits for the previous one's value ------------------
  auto t0 = std::chrono::steady_clock::now();
  auto one = manta::task(step_one).remote();
  auto two = manta::task(step_two).remote(one);     // runs once `one` exists
  auto three = manta::task(step_three).remote(two); // runs once `two` exists
  double submit_ms =
    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  int result = manta::get(three);
  double chain_ms =
    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("step_three(step_two(step_one())) = %d\n", result);
  std::printf("  submitting the chain took %.3f ms (nothing waited); the result came "
              "after %.0f ms = 3 steps of %lld ms, one after another\n\n",
              submit_ms, chain_ms, static_cast<long long>(step_time.count()));

  // -- a diamond: two independent branches between a source and a join -------
  //        step_one
  //        /      \        .
  //  branch x2  branch x3    independent: they may run at the same time
  //        \      /
  //        combine
  const int branch_ms = fast ? 50 : 500;
  auto start = now_s();
  auto src = manta::task(step_one).remote();
  auto left = manta::task(branch).remote(src, 2, branch_ms);
  auto right = manta::task(branch).remote(src, 3, branch_ms);
  auto joined = manta::task(combine).remote(left, right);
  int sum = manta::get(joined);
  double total_ms = (now_s() - start) * 1e3;
  auto l = manta::get(left), r = manta::get(right);

  double overlap_ms = std::max(0.0, std::min(l.end_s, r.end_s) - std::max(l.start_s, r.start_s))
                      * 1e3;
  double serial_ms = static_cast<double>(step_time.count()) + 2.0 * branch_ms;
  std::printf("combine(branch(step_one, x2), branch(step_one, x3)) = %d + %d = %d\n", l.value,
              r.value, sum);
  std::printf("  left  branch ran %7.1f .. %7.1f ms\n", (l.start_s - start) * 1e3,
              (l.end_s - start) * 1e3);
  std::printf("  right branch ran %7.1f .. %7.1f ms\n", (r.start_s - start) * 1e3,
              (r.end_s - start) * 1e3);
  std::printf("  branches overlapped for %.1f ms of their %d ms each\n", overlap_ms, branch_ms);
  std::printf("  diamond took %.1f ms; one after another it would take %.0f ms "
              "(%.2fx faster)\n",
              total_ms, serial_ms, serial_ms / total_ms);

  manta::shutdown();
  std::printf("result: %d\n", result);
  return result == 43 && sum == 100 ? 0 : 1;
}
