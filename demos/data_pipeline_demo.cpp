/// A data pipeline: every chunk of a data set goes through load -> transform
/// -> aggregate, three tasks chained by object_refs, and the driver folds
/// the aggregates into one result. Backpressure keeps at most a few chunks in
/// flight: the driver submits a new chain only when `manta::wait` says one
/// has finished, so the store holds a few chunks at a time, not the whole
/// data set. The result is checked against a plain sequential loop (the Ray
/// Core tutorial's "Data processing pipeline", in C++).
///
///   data_pipeline_demo [--fast] [--num-cpus=N]
///
/// 200 chunks of 50,000 values, 10 ms of simulated I/O per load; --fast: 48
/// chunks, 1 ms.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <thread>
#include <vector>

namespace {} // namespace

using chunk = std::vector<int64_t>;

/// What the aggregate stage computes, and how partial results combine.
struct stats {
  int64_t count = 0;
  int64_t sum = 0;
  int64_t min = std::numeric_limits<int64_t>::max();
  int64_t max = std::numeric_limits<int64_t>::min();

  void merge(const stats& o) {
    count += o.count;
    sum += o.sum;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }

  friend bool operator==(const stats&, const stats&) = default;
};

/// Stage 1: reads chunk `id` (simulated I/O, then deterministic values).
chunk load(int id, int size, double io_s) {
  if (io_s > 0)
    std::this_thread::sleep_for(std::chrono::duration<double>{io_s});
  chunk c(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i)
    c[static_cast<size_t>(i)] = static_cast<int64_t>(
      splitmix(static_cast<uint64_t>(id) * static_cast<uint64_t>(size) + static_cast<uint64_t>(i))
      % 1'000'000);
  return c;
}

/// Stage 2: drops the invalid records (multiples of 7) and rescales the rest.
chunk transform(const chunk& in) {
  chunk out;
  out.reserve(in.size());
  for (int64_t v : in)
    if (v % 7 != 0)
      out.push_back((v * 3 + 11) % 1'000'003);
  return out;
}

/// Stage 3: reduces a chunk to its statistics.
stats aggregate(const chunk& in) {
  stats s;
  for (int64_t v : in) {
    ++s.count;
    s.sum += v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  return s;
}
MANTA_REMOTE(load, transform, aggregate);

namespace {

struct run_stats {
  stats result;
  double seconds = 0;
  size_t max_in_flight = 0;
  size_t peak_objects = 0;
  size_t peak_bytes = 0;
};

manta::object_ref<stats> submit_chain(int id, int size, double io_s) {
  auto loaded = manta::task(load).remote(id, size, io_s);
  auto cleaned = manta::task(transform).remote(loaded);
  return manta::task(aggregate).remote(cleaned);
}

/// Watches the object store from a thread of its own while a run goes on:
/// the peak comes between the driver's `wait`s, so the driver cannot see it.
class store_sampler {
public:
  explicit store_sampler(run_stats& r)
    : thread_([&r](std::stop_token stop) {
        while (!stop.stop_requested()) {
          auto m = manta::memory_summary();
          r.peak_objects = std::max(r.peak_objects, m.num_objects);
          r.peak_bytes = std::max(r.peak_bytes, m.bytes_in_memory);
          std::this_thread::sleep_for(std::chrono::milliseconds{1});
        }
      }) {}

private:
  std::jthread thread_; // stopped and joined first thing in the destructor
};

/// At most `limit` chains in flight (limit 0: no limit, all at once).
run_stats run_pipeline(int chunks, int size, double io_s, size_t limit) {
  run_stats r;
  auto t0 = clock_type::now();
  {
    store_sampler sampler{r}; // stopped at the end of this block
    std::vector<manta::object_ref<stats>> in_flight;
    int next = 0;
    while (next < chunks || !in_flight.empty()) {
      while (next < chunks && (limit == 0 || in_flight.size() < limit))
        in_flight.push_back(submit_chain(next++, size, io_s));
      r.max_in_flight = std::max(r.max_in_flight, in_flight.size());
      auto [ready, pending] = manta::wait(in_flight, 1);
      r.result.merge(manta::get(ready.front()));
      in_flight = std::move(pending);
    }
    r.seconds = seconds_since(t0);
  }
  return r;
}

} // namespace

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const int chunks = fast ? 48 : 200;
  const int size = 50'000;
  const double io_s = fast ? 0.001 : 0.01;
  const double cpus = manta::cluster_resources()["CPU"];
  const size_t limit = static_cast<size_t>(std::max(1.0, 2 * std::ceil(cpus)));
  const double chunk_mb = size * sizeof(int64_t) / 1e6;
  std::printf("%d chunks of %d values (%.1f MB each), %.0f ms I/O per load, %g CPUs\n\n", chunks,
              size, chunk_mb, io_s * 1e3, cpus);

  // -- sequential reference ----------------------------------------------------
  auto t0 = clock_type::now();
  stats expected;
  for (int id = 0; id < chunks; ++id)
    expected.merge(aggregate(transform(load(id, size, io_s))));
  double seq_s = seconds_since(t0);
  std::printf("sequential:           %.3f s\n", seq_s);

  // -- the pipeline, with and without backpressure ---------------------------
  auto bounded = run_pipeline(chunks, size, io_s, limit);
  std::printf("pipeline, %zu in flight: %.3f s (%.2fx), store peak %zu objects, %.1f MB\n", limit,
              bounded.seconds, seq_s / bounded.seconds, bounded.peak_objects,
              bounded.peak_bytes / 1e6);
  auto unbounded = run_pipeline(chunks, size, io_s, 0);
  std::printf("pipeline, all at once: %.3f s (%.2fx), store peak %zu objects, %.1f MB\n\n",
              unbounded.seconds, seq_s / unbounded.seconds, unbounded.peak_objects,
              unbounded.peak_bytes / 1e6);

  manta::shutdown();
  const auto& r = bounded.result;
  bool match = r == expected && unbounded.result == expected;
  std::printf("result: count %lld, sum %lld, min %lld, max %lld, mean %.3f\n",
              static_cast<long long>(r.count), static_cast<long long>(r.sum),
              static_cast<long long>(r.min), static_cast<long long>(r.max),
              static_cast<double>(r.sum) / static_cast<double>(r.count));
  std::printf("matches the sequential computation: %s\n", match ? "yes" : "NO");
  std::printf("max chains in flight: %zu (limit %zu)\n", bounded.max_in_flight, limit);
  std::printf("store peak: %.1f MB with backpressure, %.1f MB without (%.1f chunks vs "
              "%.1f)\n",
              bounded.peak_bytes / 1e6, unbounded.peak_bytes / 1e6,
              bounded.peak_bytes / 1e6 / chunk_mb, unbounded.peak_bytes / 1e6 / chunk_mb);
  return match && bounded.max_in_flight <= limit ? 0 : 1;
}
