/// Processing results as they come: `manta::wait(refs, 1)` hands back the
/// first task to finish, so the driver works on each result while the slower
/// tasks still run, instead of idling until the slowest of all is done.
/// `manta::as_completed(refs)` does the same at a constant cost per ref (the
/// `wait` loop looks at every pending ref each time: quadratic in a long list).
///
///   pipelining_wait_demo [--fast] [--num-cpus=N]

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

/// Seconds on the machine's monotonic clock, comparable between tasks.
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct job_result {
  int index;
  double duration_s;
  double finished_s; // when the task's work ended
};

/// A job of random length.
job_result run_job(int index, double duration_s) {
  std::this_thread::sleep_for(std::chrono::duration<double>{duration_s});
  return {index, duration_s, now_s()};
}
MANTA_REMOTE(run_job);

namespace {

/// The driver's own work on one result (e.g. writing it out).
void process(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>{seconds});
}

std::vector<manta::object_ref<job_result>> submit(const std::vector<double>& durations) {
  std::vector<manta::object_ref<job_result>> refs;
  for (int i = 0; i < static_cast<int>(durations.size()); ++i)
    refs.push_back(manta::task(run_job).remote(i, durations[i]));
  return refs;
}

} // namespace

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const double scale = fast ? 0.1 : 1.0;
  const double process_s = 0.1 * scale;

  // Ten jobs of 0.1 to 2 s; a fixed seed makes every run the same.
  std::mt19937 rng{42};
  std::uniform_real_distribution<double> dist{0.1, 2.0};
  std::vector<double> durations;
  for (int i = 0; i < 10; ++i)
    durations.push_back(dist(rng) * scale);

  // -- in completion order with wait -------------------------------------------
  double start = now_s();
  auto pending = submit(durations);
  std::vector<job_result> order;
  std::printf("%5s  %4s  %9s  %12s\n", "#done", "job", "duration", "finished at");
  while (!pending.empty()) {
    auto [ready, rest] = manta::wait(pending, 1);
    pending = std::move(rest);
    auto r = manta::get(ready.front());
    process(process_s);
    order.push_back(r);
    std::printf("%5zu  %4d  %7.3f s  %10.3f s\n", order.size(), r.index, r.duration_s,
                r.finished_s - start);
  }
  double pipelined_s = now_s() - start;

  /// Completion order: each job ended no earlier than the one before it
  /// (a millisecond of slack for two jobs ending at the same moment).
  bool completion_order = true;
  for (size_t i = 1; i < order.size(); ++i)
    completion_order = completion_order && order[i].finished_s >= order[i - 1].finished_s - 1e-3;
  bool submission_order = std::is_sorted(order.begin(), order.end(),
                                         [](auto& a, auto& b) { return a.index < b.index; });
  std::printf("processing order:");
  for (auto& r : order)
    std::printf(" %d", r.index);
  std::printf("\nprocessed in completion order: %s (submission order: %s)\n",
              completion_order ? "yes" : "NO", submission_order ? "yes" : "no");

  // -- the same with as_completed ----------------------------------------------
  start = now_s();
  std::vector<job_result> streamed;
  for (auto& ref : manta::as_completed(submit(durations))) {
    streamed.push_back(manta::get(ref));
    process(process_s);
  }
  double streamed_s = now_s() - start;
  for (size_t i = 1; i < streamed.size(); ++i)
    completion_order = completion_order
                       && streamed[i].finished_s >= streamed[i - 1].finished_s - 1e-3;
  std::printf("as_completed: %zu results, in completion order: %s\n", streamed.size(),
              completion_order ? "yes" : "NO");

  // -- for contrast: get them all, then process --------------------------------
  start = now_s();
  auto all = manta::get(submit(durations));
  for (size_t i = 0; i < all.size(); ++i)
    process(process_s);
  double batch_s = now_s() - start;

  manta::shutdown();
  std::printf("\nwait(refs, 1) pipeline: %.3f s, %.2f results/s\n", pipelined_s,
              order.size() / pipelined_s);
  std::printf("as_completed pipeline:  %.3f s, %.2f results/s\n", streamed_s,
              streamed.size() / streamed_s);
  std::printf("get(all) then process:  %.3f s, %.2f results/s\n", batch_s, all.size() / batch_s);
  std::printf("pipelining saved %.3f s (%.0f%%)\n", batch_s - pipelined_s,
              100.0 * (batch_s - pipelined_s) / batch_s);
  return completion_order ? 0 : 1;
}
