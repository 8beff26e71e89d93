// Manta's scalability envelope on one node, as printed timings (Ray's
// "single node" scalability tests, same shapes):
//   many_tasks       1,000,000 no-op tasks queued at once, then all gotten
//   many_actors      100,000 actors created and called once each
//   many_args        one task whose argument holds 10,000 object refs
//   many_returns     one task returning 3,000 objects
//   many_gets        one get of 10,000 objects
//   drain            10 to 100,000 ready refs taken in completion order:
//                    as_completed against a loop of wait(pending, 1)
// Memory per queued task and per idle actor is the resident-set growth
// divided by the count. Exits 1 if a result is wrong or a budget is missed
// (1M tasks: 20 s and 4 GiB; 100k actors: 2 GiB).
//
//   build/tools/scalability [case...] [--scale=F]   (F < 1 shrinks counts)

#include <manta/manta.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

int one() {
  return 1;
}
MANTA_REMOTE(one);

long sum_refs(const std::vector<manta::object_ref<int>>& refs) {
  long sum = 0;
  for (int v : manta::get(refs))
    sum += v;
  return sum;
}
MANTA_REMOTE(sum_refs);

/// `make(i)` for i from 0 to n - 1, in a vector.
template <class Make>
auto n_of(int n, Make make) {
  std::vector<decltype(make(0))> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    out.push_back(make(i));
  return out;
}

std::vector<manta::object_ref<int>> make_objects(int n) {
  return n_of(n, [](int i) { return manta::put(i); });
}
MANTA_REMOTE(make_objects);

class idle_actor {
public:
  explicit idle_actor(int id) : id_(id) {}
  int id() const { return id_; }

private:
  int id_;
};
MANTA_ACTOR(idle_actor, &idle_actor::id);

size_t rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double scale = 1.0;

int scaled(int n) {
  return std::max(1, static_cast<int>(n * scale));
}

/// Prints one row; returns whether the case passed.
bool report(const char* name, bool correct, double seconds, const std::string& extra,
            bool within_budget = true) {
  std::printf("%-14s %9.3f s  %-8s %s\n", name, seconds,
              !correct        ? "WRONG"
              : within_budget ? "ok"
                              : "OVER",
              extra.c_str());
  std::fflush(stdout);
  return correct && within_budget;
}

bool many_tasks() {
  int n = scaled(1000000);
  auto before = rss_bytes();
  auto t0 = clock_type::now();
  auto refs = n_of(n, [](int) { return manta::task(one).remote(); });
  auto submitted = seconds_since(t0);
  auto peak = rss_bytes();
  long sum = 0;
  for (auto& r : refs)
    sum += manta::get(r);
  auto dt = seconds_since(t0);
  double per_task = static_cast<double>(peak - before) / n;
  char extra[200];
  std::snprintf(extra, sizeof extra,
                "%d tasks, submitted in %.2f s, %.0f tasks/s, %.0f bytes per queued task "
                "(budget: 20 s, 4 GiB)",
                n, submitted, n / dt, per_task);
  bool ok_budget = dt * scale <= 20.0 && per_task * 1e6 <= 4.0 * (1ull << 30);
  return report("many_tasks", sum == n, dt, extra, ok_budget);
}

bool many_actors() {
  int n = scaled(100000);
  auto before = rss_bytes();
  auto t0 = clock_type::now();
  auto actors = n_of(n, [](int i) { return manta::actor<idle_actor>().remote(i); });
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(n));
  for (auto& a : actors)
    refs.push_back(a.call(&idle_actor::id).remote());
  long sum = 0;
  for (auto& r : refs)
    sum += manta::get(r);
  auto dt = seconds_since(t0);
  refs.clear();
  double per_actor = static_cast<double>(rss_bytes() - before) / n;
  char extra[200];
  std::snprintf(extra, sizeof extra,
                "%d actors created and called, %.0f actors/s, %.0f bytes per idle actor "
                "(budget: 2 GiB for 100,000)",
                n, n / dt, per_actor);
  return report("many_actors", sum == static_cast<long>(n) * (n - 1) / 2, dt, extra,
                per_actor * 100000 <= 2.0 * (1ull << 30));
}

bool many_args() {
  int n = scaled(10000);
  auto refs = make_objects(n);
  auto t0 = clock_type::now();
  long sum = manta::get(manta::task(sum_refs).remote(refs));
  auto dt = seconds_since(t0);
  return report("many_args", sum == static_cast<long>(n) * (n - 1) / 2, dt,
                std::to_string(n) + " object refs in one task argument (Ray: 17 s)");
}

bool many_returns() {
  int n = scaled(3000);
  auto t0 = clock_type::now();
  auto refs = manta::get(manta::task(make_objects).remote(n));
  long sum = 0;
  for (int v : manta::get(refs))
    sum += v;
  auto dt = seconds_since(t0);
  return report("many_returns", sum == static_cast<long>(n) * (n - 1) / 2, dt,
                std::to_string(n) + " objects returned by one task, then gotten");
}

bool many_gets() {
  int n = scaled(10000);
  auto refs = make_objects(n);
  auto t0 = clock_type::now();
  auto values = manta::get(refs);
  auto dt = seconds_since(t0);
  long sum = std::accumulate(values.begin(), values.end(), 0L);
  return report("many_gets", sum == static_cast<long>(n) * (n - 1) / 2, dt,
                "one get of " + std::to_string(n) + " objects (Ray: 23 s)");
}

/// Seconds per ref to drain `n` ready refs with a `wait(pending, 1)` loop
/// (the tutorial's pipelining shape) or with as_completed; the sum of the
/// values goes to `sum`. The drained refs are kept until the clock stops;
/// the seconds per ref their release then takes (freeing the objects) go
/// to `free_per_ref`, so the drain is timed apart from the object table.
double drain_per_ref(int n, bool with_wait, long& sum, double& free_per_ref) {
  auto refs = make_objects(n);
  std::vector<manta::object_ref<int>> drained;
  drained.reserve(static_cast<size_t>(n));
  auto t0 = clock_type::now();
  if (with_wait) {
    while (!refs.empty()) {
      auto [ready, pending] = manta::wait(std::move(refs), 1);
      sum += manta::get(ready.front());
      drained.push_back(std::move(ready.front()));
      refs = std::move(pending);
    }
  } else {
    for (auto& r : manta::as_completed(std::move(refs))) {
      sum += manta::get(r);
      drained.push_back(std::move(r));
    }
  }
  auto per_ref = seconds_since(t0) / n;
  auto t1 = clock_type::now();
  drained.clear();
  free_per_ref = seconds_since(t1) / n;
  return per_ref;
}

bool drain() {
  bool correct = true;
  double first_per_ref = 0;
  double last_per_ref = 0;
  auto t0 = clock_type::now();
  for (int n : {10, 1000, 10000, 100000}) {
    n = scaled(n);
    long expected = static_cast<long>(n) * (n - 1) / 2;
    long by_stream = 0;
    double freeing = 0;
    double stream = drain_per_ref(n, false, by_stream, freeing);
    correct = correct && by_stream == expected;
    char row[240];
    int used = std::snprintf(
      row, sizeof row,
      "%7d refs: as_completed %7.3f us/ref (freeing the objects after: %6.3f us/ref)", n,
      stream * 1e6, freeing * 1e6);
    if (n <= 10000) { // the wait loop is quadratic: 100,000 refs take minutes
      long by_wait = 0;
      double loop = drain_per_ref(n, true, by_wait, freeing);
      correct = correct && by_wait == expected;
      std::snprintf(row + used, sizeof row - used, ", wait(pending, 1) loop %9.3f us/ref (%.1fx)",
                    loop * 1e6, loop / stream);
    } else {
      std::snprintf(row + used, sizeof row - used, ", wait(pending, 1) loop not run (quadratic)");
    }
    std::printf("  %s\n", row);
    first_per_ref = first_per_ref == 0 && n >= 1000 ? stream : first_per_ref;
    last_per_ref = stream;
  }
  char extra[160];
  std::snprintf(extra, sizeof extra, "as_completed per ref at the largest list / at 1,000: %.2fx",
                first_per_ref > 0 ? last_per_ref / first_per_ref : 0.0);
  return report("drain", correct, seconds_since(t0), extra);
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string_view, std::function<bool()>>> cases = {
    {"many_tasks", many_tasks},     {"many_actors", many_actors}, {"many_args", many_args},
    {"many_returns", many_returns}, {"many_gets", many_gets},     {"drain", drain}};
  std::vector<std::string_view> chosen;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg.rfind("--scale=", 0) == 0)
      scale = std::atof(argv[i] + 8);
    else if (arg.rfind("--", 0) != 0)
      chosen.push_back(arg);
  }
  if (!(scale > 0 && scale <= 1)) {
    std::fprintf(stderr, "scalability: --scale expects a number in (0, 1]\n");
    return 2;
  }
  // Each case runs in a fresh child process with its own runtime, so that
  // one case's freed memory cannot hide the next one's growth.
  bool ok = true;
  for (auto& [name, run] : cases) {
    if (!chosen.empty() && std::find(chosen.begin(), chosen.end(), name) == chosen.end())
      continue;
    auto pid = ::fork();
    if (pid == 0) {
      manta::init(argc, argv);
      bool passed = run();
      manta::shutdown();
      std::_Exit(passed ? 0 : 1);
    }
    int status = 0;
    ok = pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)
         && WEXITSTATUS(status) == 0 && ok;
  }
  return ok ? 0 : 1;
}
