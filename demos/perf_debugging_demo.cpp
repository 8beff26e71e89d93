/// Performance debugging: a slow application and its fix, one change at a
/// time. The slow one makes three classic mistakes: it puts the same large
/// lookup table into the store again for every task, it calls `get` right
/// after each submission (so nothing runs in parallel and every task's
/// round trip is paid in full), and its tasks are far too small for their
/// overhead. The fixed one puts the table once, submits everything before a
/// single `get` of the whole vector, and gives each task a batch of items
/// (the Ray Core tutorial's "Performance debugging", in C++).
///
///   perf_debugging_demo [--fast] [--num-cpus=N]
///
/// 2,000 items and an 8 MB table; --fast: 400 items and a 2 MB table.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

constexpr int lookups_per_item = 200;

} // namespace

/// The work on one item: a few hundred lookups in the shared table (a
/// stand-in for scoring a record against model weights): microseconds.
double score(const std::vector<double>& table, int64_t item) {
  double s = 0;
  for (int j = 0; j < lookups_per_item; ++j)
    s += table[splitmix(static_cast<uint64_t>(item) * lookups_per_item + static_cast<uint64_t>(j))
               % table.size()];
  return s;
}

/// The same work on `count` items from `first`: one task, many items.
std::vector<double> score_batch(const std::vector<double>& table, int64_t first, int64_t count) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = first; i < first + count; ++i)
    out.push_back(score(table, i));
  return out;
}
MANTA_REMOTE(score, score_batch);

namespace {

struct version {
  const char* name;
  const char* why;
  double seconds = 0;
  double total = 0;
  size_t tasks = 0;
};

/// Slow: a put of the table per task, and a get right after each submission.
double slow(const std::vector<double>& table, int64_t items, size_t& tasks) {
  double total = 0;
  for (int64_t i = 0; i < items; ++i) {
    auto t = manta::put(table); // copies the whole table, every time
    total += manta::get(manta::task(score).remote(t, i));
  }
  tasks = static_cast<size_t>(items);
  return total;
}

/// Fix 1: the table goes into the store once; every task shares it.
double put_once(const std::vector<double>& table, int64_t items, size_t& tasks) {
  auto t = manta::put(table);
  double total = 0;
  for (int64_t i = 0; i < items; ++i)
    total += manta::get(manta::task(score).remote(t, i));
  tasks = static_cast<size_t>(items);
  return total;
}

/// Fix 2: submit everything, then one get of the whole vector.
double one_get(const std::vector<double>& table, int64_t items, size_t& tasks) {
  auto t = manta::put(table);
  std::vector<manta::object_ref<double>> refs;
  refs.reserve(static_cast<size_t>(items));
  for (int64_t i = 0; i < items; ++i)
    refs.push_back(manta::task(score).remote(t, i));
  double total = 0;
  for (double s : manta::get(refs)) // sums in item order, like the others
    total += s;
  tasks = refs.size();
  return total;
}

/// Fix 3: a few tasks per CPU, each scoring a batch of items.
double batched(const std::vector<double>& table, int64_t items, size_t& tasks) {
  auto t = manta::put(table);
  const double cpus = manta::cluster_resources()["CPU"];
  const int64_t batches = std::min<int64_t>(items, 4 * static_cast<int64_t>(std::ceil(cpus)));
  std::vector<manta::object_ref<std::vector<double>>> refs;
  for (int64_t b = 0; b < batches; ++b) {
    int64_t first = items * b / batches, last = items * (b + 1) / batches;
    refs.push_back(manta::task(score_batch).remote(t, first, last - first));
  }
  double total = 0;
  for (auto& scores : manta::get(refs))
    for (double s : scores)
      total += s;
  tasks = refs.size();
  return total;
}

} // namespace

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const int64_t items = fast ? 400 : 2'000;
  const size_t table_size = fast ? 256 * 1024 : 1024 * 1024; // doubles
  std::vector<double> table(table_size);
  for (size_t i = 0; i < table_size; ++i)
    table[i] = static_cast<double>(splitmix(i) % 1000) / 1000.0;
  std::printf("%lld items, %d lookups each, in a %.1f MB table; %g CPUs\n\n",
              static_cast<long long>(items), lookups_per_item, table_size * sizeof(double) / 1e6,
              manta::cluster_resources()["CPU"]);

  // Warm up the pool's threads and the allocator.
  size_t ignored = 0;
  batched(table, 64, ignored);

  auto t0 = clock_type::now();
  double expected = 0;
  for (int64_t i = 0; i < items; ++i)
    expected += score(table, i);
  double plain_s = seconds_since(t0);

  std::vector<version> vs{
    {"slow: put per task, get per task",
     "every put copies the table into the store, and each get waits for its task "
     "before the next one is even submitted: one CPU, a full round trip per item"},
    {"+ put the table once",
     "one copy in the store, shared by reference: no per-task memcpy or allocation"},
    {"+ submit all, one get",
     "all tasks are queued before the driver waits, so they run on every CPU at once"},
    {"+ batch items per task",
     "a few tasks per CPU instead of one per item: the per-task cost (spec, "
     "scheduling, result object) is paid a few times, not thousands"},
  };
  double (*runs[])(const std::vector<double>&, int64_t, size_t&) = {slow, put_once, one_get,
                                                                    batched};
  // Three rounds, the versions interleaved, and each version's median: a
  // version of a millisecond is otherwise at the mercy of one stall of a
  // busy machine.
  constexpr int rounds = 3;
  std::vector<std::vector<double>> times(vs.size());
  bool correct = true;
  for (int round = 0; round < rounds; ++round)
    for (size_t i = 0; i < vs.size(); ++i) {
      auto t = clock_type::now();
      vs[i].total = runs[i](table, items, vs[i].tasks);
      times[i].push_back(seconds_since(t));
      correct = correct && vs[i].total == expected;
    }
  for (size_t i = 0; i < vs.size(); ++i) {
    std::sort(times[i].begin(), times[i].end());
    vs[i].seconds = times[i][rounds / 2];
  }

  std::printf("median of %d interleaved rounds:\n", rounds);
  std::printf("%-36s  %6s  %10s  %9s  %s\n", "version", "tasks", "time", "speedup", "total");
  for (auto& v : vs)
    std::printf("%-36s  %6zu  %7.3f ms  %8.1fx  %.6f%s\n", v.name, v.tasks, v.seconds * 1e3,
                vs[0].seconds / v.seconds, v.total, v.total == expected ? "" : "  WRONG");
  std::printf("%-36s  %6s  %7.3f ms  %8.1fx  %.6f\n\n", "(plain loop, no tasks)", "-",
              plain_s * 1e3, vs[0].seconds / plain_s, expected);
  std::printf("why each change helps:\n");
  for (auto& v : vs)
    std::printf("  %s: %s\n", v.name, v.why);

  manta::shutdown();
  std::printf("\nslow version:  %.3f s\n", vs.front().seconds);
  std::printf("fixed version: %.3f s\n", vs.back().seconds);
  std::printf("speedup: %.1fx\n", vs.front().seconds / vs.back().seconds);
  std::printf("results identical: %s\n", correct ? "yes" : "NO");
  return correct ? 0 : 1;
}
