/// Sharing a large object: `manta::put` stores an 800 MB array once, and ten
/// tasks that take it as an `object_ref` read that one copy through a
/// `const std::vector<double>&`: no task copies it, so the process grows by
/// one array, not eleven. The resident set size (RSS, from /proc/self/status)
/// shows it, and `memory_summary()` lists the one object (the Ray Core
/// tutorial's "Efficient handling of large objects", in C++).
///
///   large_object_demo [--fast] [--num-cpus=N] [--mb=SIZE]
///
/// --fast uses an 80 MB array; --mb sets any size.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

/// A field of /proc/self/status in MB ("VmRSS": resident now, "VmHWM": the
/// peak resident size so far); -1 where /proc is missing.
double proc_status_mb(std::string_view field) {
  std::ifstream in{"/proc/self/status"};
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size()
        && line[field.size()] == ':')
      return std::stod(line.substr(field.size() + 1)) * 1024 / 1e6; // "kB" are KiB
  return -1;
}

/// Value i of the array: uniform in [0, 1), from splitmix64 on the counter.
double value_at(uint64_t i) {
  uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

constexpr int num_tasks = 10;

} // namespace

/// What one analysis task found.
struct analysis {
  int task = 0;
  uint64_t above = 0;       // values above the task's threshold
  uintptr_t buffer = 0;     // where the array it read lives
};

/// Task k counts the values above k / 10: ten analyses of the same data,
/// each reading all of it.
analysis count_above(const std::vector<double>& data, int k) {
  const double threshold = k / static_cast<double>(num_tasks);
  uint64_t n = 0;
  for (double v : data)
    n += v > threshold;
  return {k, n, reinterpret_cast<uintptr_t>(data.data())};
}
MANTA_REMOTE(count_above);

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  double mb = fast ? 80 : 800;
  for (int i = 1; i < argc; ++i)
    if (std::string_view a{argv[i]}; a.starts_with("--mb="))
      mb = std::stod(std::string{a.substr(5)});
  const size_t n = static_cast<size_t>(mb * 1e6 / sizeof(double));
  const double array_mb = static_cast<double>(n * sizeof(double)) / 1e6;

  const double rss0 = proc_status_mb("VmRSS");
  std::printf("array: %zu doubles = %.0f MB; %d tasks read it\n\n", n, array_mb, num_tasks);
  std::printf("RSS before the array:        %8.1f MB\n", rss0);

  auto t0 = clock_type::now();
  std::vector<double> data(n);
  for (size_t i = 0; i < n; ++i)
    data[i] = value_at(i);
  double fill_s = seconds_since(t0), rss_built = proc_status_mb("VmRSS");
  std::printf("RSS with the array built:    %8.1f MB  (+%.1f MB, %.2f s to fill)\n", rss_built,
              rss_built - rss0, fill_s);

  // Moved into the store: the store owns the one copy from here on.
  auto ref = manta::put(std::move(data));
  const double rss_put = proc_status_mb("VmRSS");
  std::printf("RSS after put(std::move()):  %8.1f MB  (+%.1f MB)\n", rss_put, rss_put - rss0);

  auto t1 = clock_type::now();
  std::vector<manta::object_ref<analysis>> refs;
  for (int k = 0; k < num_tasks; ++k)
    refs.push_back(manta::task(count_above).remote(ref, k));
  auto results = manta::get(refs);
  double tasks_s = seconds_since(t1);
  const double rss_after = proc_status_mb("VmRSS");
  const double peak = proc_status_mb("VmHWM");
  std::printf("RSS after %d tasks:          %8.1f MB  (+%.1f MB; %.2f s for the tasks)\n",
              num_tasks, rss_after, rss_after - rss0, tasks_s);
  std::printf("peak RSS of the whole run:   %8.1f MB  (+%.1f MB)\n\n", peak, peak - rss0);

  // The driver's own reading of the stored array, without a copy either.
  auto shared = manta::get_shared(ref);
  std::vector<uint64_t> expected(num_tasks, 0);
  for (double v : *shared)
    for (int k = 0; k < num_tasks; ++k)
      expected[static_cast<size_t>(k)] += v > k / static_cast<double>(num_tasks);
  std::set<uintptr_t> buffers;
  int correct = 0;
  for (auto& r : results) {
    buffers.insert(r.buffer);
    bool ok = r.above == expected[static_cast<size_t>(r.task)];
    correct += ok;
    std::printf("  task %d: %10llu values above %.1f (%.4f of them)%s\n", r.task,
                static_cast<unsigned long long>(r.above), r.task / 10.0,
                static_cast<double>(r.above) / static_cast<double>(n), ok ? "" : "  WRONG");
  }
  bool same_buffer = buffers.size() == 1
                     && *buffers.begin() == reinterpret_cast<uintptr_t>(shared->data());
  std::printf("results match a sequential count: %d of %d\n", correct, num_tasks);
  std::printf("buffers the tasks read: %zu (%s the store's copy)\n\n", buffers.size(),
              same_buffer ? "all of them" : "NOT");

  auto report = manta::memory_summary();
  std::printf("memory_summary():\n%s\n", report.to_string(10).c_str());
  const double store_mb = static_cast<double>(report.bytes_in_memory) / 1e6;
  shared.reset();
  refs.clear();
  ref = {};

  manta::shutdown();
  const double growth = std::max(rss_after, peak) - rss0;
  std::printf("object store holds: %.1f MB in %zu object(s)\n", store_mb, report.num_objects);
  std::printf("RSS increase: %.1f MB for a %.1f MB array (%.2f copies)\n", growth, array_mb,
              growth / array_mb);
  return correct == num_tasks && same_buffer ? 0 : 1;
}
