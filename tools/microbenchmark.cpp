#include "tools/microbenchmark.hpp"

#include "tools/command_help.hpp"
#include "tools/command_line.hpp"

#include "tools/caf_floor.hpp"
#include "tools/metric.hpp"
#include "tools/progress_bar.hpp"
#include "tools/ray_published.hpp"

#include <manta/manta.hpp>

#include <boost/algorithm/string/classification.hpp>
#include <boost/algorithm/string/split.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <memory>
#include <unistd.h>

namespace {

using manta::tools::clock_type;
using manta::tools::metric;
using manta::tools::result;

int small_value() {
  return 0;
}
MANTA_REMOTE(small_value);

/// A client of multi_client_tasks_async: submits n no-op tasks, gets them.
int task_client(int n) {
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(manta::task(small_value).remote());
  manta::get(refs);
  return n;
}
MANTA_REMOTE(task_client);

/// The producer of single_client_generator_items: yields 0..n-1.
void yield_ints(manta::generator_sink<int>& out, int n) {
  for (int i = 0; i < n; ++i)
    out.yield(i);
}
MANTA_REMOTE(yield_ints);

/// The task of single_client_borrowed_ref_round_trip: reads the ref it
/// finds inside its argument (passed unresolved, as a value holding a ref).
int read_inner(std::vector<manta::object_ref<int>> refs) {
  return manta::get(refs.front());
}
MANTA_REMOTE(read_inner);

/// A client of multi_client_put_calls: n puts of a small value.
int put_client(int n) {
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(manta::put(i));
  return n;
}
MANTA_REMOTE(put_client);

/// A client of multi_client_put_gigabytes (Ray's `do_put`): 10 puts of a
/// fresh zeroed array of 10 Mi int64 (80 MiB), each ref dropped at once.
int big_put_client() {
  for (int i = 0; i < 10; ++i)
    manta::put(std::vector<int64_t>(size_t{10} << 20));
  return 0;
}
MANTA_REMOTE(big_put_client);

/// The readers of tutorial_800mb_put_10_readers: values above k / 10.
/// std::count_if, the standard library's `np.count_nonzero(data > t)`:
/// g++ vectorizes it (two doubles per compare), not a hand loop that adds
/// each comparison's bool to a counter (one; 1.4x slower for the same
/// count).
uint64_t count_above(const std::vector<double>& data, int k) {
  const double threshold = k / 10.0;
  return static_cast<uint64_t>(
    std::count_if(data.begin(), data.end(), [threshold](double v) { return v > threshold; }));
}
MANTA_REMOTE(count_above);

/// Runs `clients` tasks of `f(n)` at once and gets them.
template <class F>
void run_clients(F f, int clients, int n) {
  std::vector<manta::object_ref<int>> refs;
  for (int t = 0; t < clients; ++t)
    refs.push_back(manta::task(f).remote(n));
  manta::get(refs);
}

/// One timed run of `m`: its body repeated until the timed part lasted
/// `min_time` seconds (at least once), the setup untimed before each. Ray's
/// `timeit` repeats its function for 2 s per trial; a body of a few
/// milliseconds timed once is swayed by one scheduling hiccup (the actor
/// bursts of 5,000 calls ranged 0.3-2.3 M/s between runs of one binary).
double timed_run(const metric& m, double min_time) {
  double busy = 0;
  size_t reps = 0;
  do {
    if (m.setup)
      m.setup();
    auto start = clock_type::now();
    m.body();
    busy += std::chrono::duration<double>(clock_type::now() - start).count();
    ++reps;
  } while (busy < min_time);
  return static_cast<double>(m.ops * reps) * m.scale / busy;
}

result measure(const metric& m, int runs, double min_time) {
  auto floor_rate = m.floor_fn ? m.floor_fn() : m.floor_rate;
  if (m.setup)
    m.setup();
  m.body(); // warm up
  std::vector<double> rates;
  for (int i = 0; i < runs; ++i)
    rates.push_back(timed_run(m, min_time));
  double mean = 0;
  for (auto r : rates)
    mean += r;
  mean /= static_cast<double>(rates.size());
  double var = 0;
  for (auto r : rates)
    var += (r - mean) * (r - mean);
  double sd = rates.size() > 1 ? std::sqrt(var / static_cast<double>(rates.size() - 1)) : 0.0;
  return {m.name, mean, sd, m.floor_name, floor_rate};
}

// -- object store throughput ---------------------------------------------------

/// Ray's `arr = np.zeros(100 * 1024 * 1024, dtype=np.int64)`: 800 MiB,
/// which Ray's single_client_put_gigabytes counts as 0.8 "GB" per put
/// (`timeit(..., 8 * 0.1)`); Manta counts it the same way.
constexpr size_t ray_put_elems = size_t{100} << 20;
constexpr double ray_put_gb = 0.8;
constexpr size_t spill_bench_bytes = size_t{256} << 20;

double seconds_of(const std::function<void()>& f) {
  auto start = clock_type::now();
  f();
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The source of the spill metrics and of the disk floors: a written
/// vector of `n` bytes.
const std::vector<uint8_t>& spill_source(size_t n) {
  static std::vector<uint8_t> v;
  if (v.size() != n) {
    v.assign(n, 0);
    for (size_t i = 0; i < n; i += 64)
      v[i] = static_cast<uint8_t>(i);
  }
  return v;
}

/// The source of single_client_put_gigabytes: Ray's 100 Mi int64, written
/// (resident; Ray's np.zeros array is never written, so its reads hit the
/// one shared zero page).
const std::vector<int64_t>& ray_put_source() {
  static std::vector<int64_t> v = [] {
    std::vector<int64_t> xs(ray_put_elems);
    for (size_t i = 0; i < xs.size(); i += 8)
      xs[i] = static_cast<int64_t>(i);
    return xs;
  }();
  return v;
}

/// memcpy of `src` into a buffer of the same size already mapped, as a put
/// into a reused buffer does: GB/s of the bytes copied, best of 3.
double memcpy_floor(const void* src, size_t n) {
  std::unique_ptr<uint8_t[]> dst{new uint8_t[n]};
  std::memset(dst.get(), 0, n); // mapped before the copies are timed
  double best = 0;
  for (int round = 0; round < 4; ++round) {
    auto dt = seconds_of([&] { std::memcpy(dst.get(), src, n); });
    if (round > 0)
      best = std::max(best, static_cast<double>(n) / 1e9 / dt);
  }
  if (std::memcmp(dst.get(), src, 64) != 0)
    std::abort();
  return best;
}

/// The put_gigabytes_<size> source: one vector of that many bytes, written
/// (the previous size's is freed).
const std::vector<uint8_t>& sweep_source(size_t n) {
  static std::vector<uint8_t> v;
  if (v.size() != n) {
    v = std::vector<uint8_t>(n);
    for (size_t i = 0; i < n; i += 64)
      v[i] = static_cast<uint8_t>(i >> 6);
  }
  return v;
}

/// The tutorial's array: 100 M doubles (800 MB), uniform in [0, 1).
const std::vector<double>& tutorial_array() {
  static std::vector<double> v = [] {
    std::vector<double> xs(100'000'000);
    uint64_t z = 0x9E3779B97F4A7C15ull;
    for (auto& x : xs) {
      z ^= z << 13;
      z ^= z >> 7;
      z ^= z << 17;
      x = static_cast<double>(z >> 11) * 0x1.0p-53;
    }
    return xs;
  }();
  return v;
}

/// Sequential write (or read) of a file of `n` bytes under /tmp, where the
/// spill directory lives, without fsync like the spiller: MB/s, best of 3.
double disk_floor(size_t n, bool write) {
  auto path = "/tmp/manta-microbenchmark-" + std::to_string(::getpid()) + ".bin";
  auto& src = spill_source(n);
  constexpr size_t chunk = size_t{64} << 20;
  std::vector<uint8_t> dst(write ? 0 : n);
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    auto dt = seconds_of([&] {
      int fd = write ? ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)
                     : ::open(path.c_str(), O_RDONLY);
      for (size_t off = 0; fd >= 0 && off < n; off += chunk) {
        auto len = std::min(chunk, n - off);
        auto got = write ? ::write(fd, src.data() + off, len) : ::read(fd, dst.data() + off, len);
        if (got <= 0)
          break;
      }
      if (fd >= 0)
        ::close(fd);
    });
    best = std::max(best, static_cast<double>(n) / 1e6 / dt);
  }
  if (!write)
    ::unlink(path.c_str());
  return best;
}

/// The object spilled and restored by the spill metrics (created lazily).
manta::object_ref<std::vector<uint8_t>>& spill_bench_ref() {
  static manta::object_ref<std::vector<uint8_t>> ref;
  if (!ref)
    ref = manta::put(std::vector<uint8_t>(spill_source(spill_bench_bytes)));
  return ref;
}

std::vector<metric> make_metrics(const manta::tools::caf_floor& floor) {
  std::vector<metric> ms;
  auto rr = floor.request_response;
  auto srq = floor.spawn_request_quit;
  // ray.get(ref) of a small object already in the store.
  ms.push_back({"single_client_get_calls", 100000,
                [] {
                  auto ref = manta::put(0);
                  long sum = 0;
                  for (int i = 0; i < 100000; ++i)
                    sum += manta::get(ref);
                  if (sum != 0)
                    std::abort();
                },
                "caf_request_response", rr});
  // ray.put(0), refs kept until the end of the batch.
  ms.push_back({"single_client_put_calls", 100000,
                [] {
                  std::vector<manta::object_ref<int>> refs;
                  refs.reserve(100000);
                  for (int i = 0; i < 100000; ++i)
                    refs.push_back(manta::put(i));
                },
                "caf_request_response", rr});
  // Ray: 10 tasks of 100 puts each count as 1000 calls; 10 such rounds.
  ms.push_back({"multi_client_put_calls", 10000,
                [] {
                  for (int round = 0; round < 10; ++round)
                    run_clients(put_client, 10, 100);
                },
                "caf_request_response", rr});
  // Submit one no-op task, get it, repeat.
  ms.push_back({"single_client_tasks_sync", 10000,
                [] {
                  for (int i = 0; i < 10000; ++i)
                    manta::get(manta::task(small_value).remote());
                },
                "caf_spawn_request_quit", srq});
  // Submit 1000 no-op tasks, then get them all; 10 rounds.
  ms.push_back({"single_client_tasks_async", 10000,
                [] {
                  std::vector<manta::object_ref<int>> refs;
                  refs.reserve(1000);
                  for (int round = 0; round < 10; ++round) {
                    refs.clear();
                    for (int i = 0; i < 1000; ++i)
                      refs.push_back(manta::task(small_value).remote());
                    manta::get(refs);
                  }
                },
                "caf_spawn_request_quit", srq});
  // m = 4 client tasks, each submitting 10,000 no-op tasks and getting them.
  ms.push_back({"multi_client_tasks_async", 4 * 10000, [] { run_clients(task_client, 4, 10000); },
                "caf_spawn_request_quit", srq});
  // ray.get([small_value.remote() for _ in range(1000)]) counts as one call.
  ms.push_back({"single_client_tasks_and_get_batch", 10,
                [] {
                  for (int round = 0; round < 10; ++round) {
                    std::vector<manta::object_ref<int>> refs;
                    refs.reserve(1000);
                    for (int i = 0; i < 1000; ++i)
                      refs.push_back(manta::task(small_value).remote());
                    manta::get(refs);
                  }
                },
                nullptr, 0});
  // 1000 task refs, then wait(not_ready) one at a time until none is left;
  // the whole loop counts as one call (Ray's definition).
  ms.push_back({"single_client_wait_1k_refs", 5,
                [] {
                  for (int round = 0; round < 5; ++round) {
                    std::vector<manta::object_ref<int>> not_ready;
                    for (int i = 0; i < 1000; ++i)
                      not_ready.push_back(manta::task(small_value).remote());
                    while (!not_ready.empty())
                      not_ready = manta::wait(std::move(not_ready), 1).pending;
                  }
                },
                nullptr, 0});
  // Streaming generator items: one generator task yields 10,000 ints, the
  // driver reads each item's ref as it comes and gets its value (Ray's
  // num_returns="streaming"); items per second.
  ms.push_back({"single_client_generator_items", 10000,
                [] {
                  long sum = 0;
                  for (auto& ref : manta::task(yield_ints).remote(10000))
                    sum += manta::get(ref);
                  if (sum != 10000L * 9999 / 2)
                    std::abort();
                },
                nullptr, 0});
  // Borrowed-ref round trip: a ref inside a value (a one-element vector)
  // passed to a task that reads the object behind it and returns; the
  // caller gets the result before the next (round trips per second).
  ms.push_back({"single_client_borrowed_ref_round_trip", 1000,
                [] {
                  static auto inner = manta::put(1);
                  for (int i = 0; i < 1000; ++i)
                    if (manta::get(manta::task(read_inner).remote(std::vector{inner})) != 1)
                      std::abort();
                },
                nullptr, 0});
  // Ray's single_client_put_gigabytes: put of its 800 MiB int64 array (an
  // lvalue: copied into the store), ref dropped; 0.8 per put, as Ray counts
  // it. Floor: memcpy of the same bytes into mapped memory.
  ms.push_back({"single_client_put_gigabytes", 1, [] { auto ref = manta::put(ray_put_source()); },
                "memcpy", 0, ray_put_gb, [] { ray_put_source(); },
                [] {
                  auto& src = ray_put_source();
                  return memcpy_floor(src.data(), src.size() * sizeof(int64_t)) * ray_put_gb
                         / (static_cast<double>(ray_put_elems * sizeof(int64_t)) / 1e9);
                }});
  // Ray's multi_client_put_gigabytes: 10 tasks, each putting 10 fresh
  // zeroed arrays of 10 Mi int64 (80 MiB); one call counts 8, as in Ray.
  // Floor: 10 threads making the same arrays without a put.
  ms.push_back({"multi_client_put_gigabytes", 1,
                [] {
                  std::vector<manta::object_ref<int>> refs;
                  for (int t = 0; t < 10; ++t)
                    refs.push_back(manta::task(big_put_client).remote());
                  manta::get(refs);
                },
                "fresh_arrays_10_threads", 0, 10 * 8 * 0.1, nullptr,
                [] {
                  auto dt = seconds_of([] {
                    std::vector<std::thread> ts;
                    for (int t = 0; t < 10; ++t)
                      ts.emplace_back([] {
                        for (int i = 0; i < 10; ++i) {
                          std::vector<int64_t> xs(size_t{10} << 20);
                          if (xs[64] != 0)
                            std::abort();
                        }
                      });
                    for (auto& th : ts)
                      th.join();
                  });
                  return 8.0 / dt;
                }});
  // put of a written std::vector<uint8_t> lvalue of each size from 1 KiB to
  // 1 GiB (copied), ref dropped: GB/s (1e9 bytes); tools/ray_large_objects.py
  // measures Ray's ray.put of a numpy uint8 array the same way. Floor:
  // memcpy into mapped memory.
  struct sweep_size {
    const char* name;
    size_t bytes;
  };
  for (auto [name, bytes] : {sweep_size{"put_gigabytes_1_kib", size_t{1} << 10},
                             sweep_size{"put_gigabytes_64_kib", size_t{64} << 10},
                             sweep_size{"put_gigabytes_1_mib", size_t{1} << 20},
                             sweep_size{"put_gigabytes_16_mib", size_t{16} << 20},
                             sweep_size{"put_gigabytes_256_mib", size_t{256} << 20},
                             sweep_size{"put_gigabytes_1_gib", size_t{1} << 30}}) {
    size_t puts = std::max<size_t>(1, (size_t{256} << 20) / bytes);
    ms.push_back({name, puts,
                  [bytes, puts] {
                    auto& src = sweep_source(bytes);
                    for (size_t i = 0; i < puts; ++i)
                      auto ref = manta::put(src);
                  },
                  "memcpy", 0, static_cast<double>(bytes) / 1e9, [bytes] { sweep_source(bytes); },
                  [bytes] { return memcpy_floor(sweep_source(bytes).data(), bytes); }});
  }
  // The tutorial's large object (demos/large_object_demo.cpp; Ray Core's
  // "Efficient handling of large objects"): put of an 800 MB array of
  // doubles (an lvalue: copied, as ray.put copies), 10 tasks each counting
  // the values above k / 10 in it, and their results got; per second.
  ms.push_back({"tutorial_800mb_put_10_readers", 1,
                [] {
                  auto ref = manta::put(tutorial_array());
                  std::vector<manta::object_ref<uint64_t>> refs;
                  for (int k = 0; k < 10; ++k)
                    refs.push_back(manta::task(count_above).remote(ref, k));
                  if (manta::get(refs).back() == 0) // about a tenth are above 0.9
                    std::abort();
                },
                nullptr, 0, 1.0, [] { tutorial_array(); }});
  // get (a copy) of an object holding 10,000 object_refs.
  ms.push_back({"single_client_get_object_containing_10k_refs", 10,
                [] {
                  static auto outer = [] {
                    std::vector<manta::object_ref<int>> refs;
                    for (int i = 0; i < 10000; ++i)
                      refs.push_back(manta::put(i));
                    return manta::put(std::move(refs));
                  }();
                  for (int i = 0; i < 10; ++i)
                    if (manta::get(outer).size() != 10000)
                      std::abort();
                },
                nullptr, 0});
  // Spill of a 256 MiB vector (Cap'n Proto framing, raw codec) in MB/s;
  // floor: writing a file of the same size.
  ms.push_back({"spill_megabytes", 1,
                [] {
                  if (spill_bench_ref().slot()->spill(/*rewrite=*/true) == 0)
                    std::abort();
                },
                "disk_write", 0, static_cast<double>(spill_bench_bytes) / 1e6,
                [] { manta::get_shared(spill_bench_ref()); },
                [] { return disk_floor(spill_bench_bytes, true); }});
  // Restore of that object by get_shared, MB/s; floor: reading the file back.
  ms.push_back({"restore_megabytes", 1,
                [] {
                  if (manta::get_shared(spill_bench_ref())->size() != spill_bench_bytes)
                    std::abort();
                },
                "disk_read", 0, static_cast<double>(spill_bench_bytes) / 1e6,
                [] { spill_bench_ref().slot()->spill(); },
                [] {
                  disk_floor(spill_bench_bytes, true);
                  return disk_floor(spill_bench_bytes, false);
                }});
  // Ray's placement_group_create/removal: a one-bundle group created,
  // waited for until ready and removed, one at a time.
  ms.push_back({"placement_group_create_removal", 1000,
                [] {
                  for (int i = 0; i < 1000; ++i) {
                    auto pg = manta::create_placement_group({{{"CPU", 1}}});
                    if (!manta::get(pg.ready()))
                      std::abort();
                    manta::remove_placement_group(pg);
                  }
                },
                nullptr, 0});
  manta::tools::add_actor_metrics(ms, rr);
  return ms;
}

} // namespace

namespace manta::tools {

int microbenchmark_main(int argc, char** argv) {
  auto args = parse_command("microbenchmark", argc, argv);
  if (!args.error.empty())
    return usage_error("microbenchmark", args.error);
  // Comma-separated substrings: a metric runs if its name holds any.
  std::vector<std::string> filters;
  boost::split(filters, args.value("filter"), boost::is_any_of(","));
  std::erase(filters, std::string{});
  auto chosen = [&filters](const std::string& name) {
    return filters.empty() || std::any_of(filters.begin(), filters.end(), [&](const auto& f) {
             return name.find(f) != std::string::npos;
           });
  };
  bool json = args.has("json");
  int runs = 5;
  if (args.has("runs")) {
    // Whole decimal runs only: atoi took "-1", "0x10" and "lots" as 0 or
    // -1 (then 1 run) without a word.
    auto text = args.value("runs");
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), runs);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || runs < 1
        || runs > 1000)
      return usage_error("microbenchmark",
                         "--runs expects a whole number of runs from 1 to 1000, got '"
                           + text.substr(0, 64) + "'");
  }
  double min_time = 0;
  if (args.has("min-time")) {
    auto text = args.value("min-time");
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), min_time);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(min_time >= 0)
        || min_time > 60)
      return usage_error("microbenchmark",
                         "--min-time expects seconds from 0 to 60 (e.g. 0.5), got '"
                           + text.substr(0, 64) + "'");
  }
  // --num-cpus and --scheduler-threads: read by manta::init below.
  auto floor = measure_caf_floor(200000);
  manta::init(argc, argv);
  auto metrics = make_metrics(floor);
  std::vector<result> results;
  if (!json)
    std::printf("%-45s %14s %11s %9s %9s  %s\n", "metric", "per second", "+- sd", "vs Ray",
                "vs floor", "floor");
  size_t selected = 0;
  for (auto& m : metrics)
    selected += chosen(m.name) ? 1 : 0;
  progress_bar bar{selected, !json};
  for (auto& m : metrics) {
    if (!chosen(m.name))
      continue;
    bar.show(results.size(), m.name);
    auto r = measure(m, runs, min_time);
    results.push_back(r);
    bar.clear();
    if (json)
      continue;
    auto ray = manta::tools::ray_published(r.name);
    int digits = r.mean < 100 ? 3 : 1; // GB/s and batch metrics are small
    std::printf("%-45s %14.*f %11.*f ", r.name.c_str(), digits, r.mean, digits, r.sd);
    if (ray > 0)
      std::printf("%8.*fx ", r.mean / ray < 10 ? 2 : 1, r.mean / ray);
    else
      std::printf("%9s ", "-");
    if (r.floor_name != nullptr)
      std::printf("%8.2fx  %s (%.4g/s)\n", r.floor_rate / r.mean, r.floor_name, r.floor_rate);
    else
      std::printf("%9s\n", "-");
    std::fflush(stdout);
  }
  manta::shutdown();
  if (json) {
    boost::json::array metrics;
    for (auto& r : results) {
      boost::json::object m{{"name", r.name}, {"per_second", r.mean}, {"sd", r.sd}};
      if (auto ray = manta::tools::ray_published(r.name); ray > 0) {
        m["ray_published"] = ray;
        m["times_ray"] = r.mean / ray;
      }
      if (r.floor_name != nullptr) {
        m["floor"] = r.floor_name;
        m["times_floor_cost"] = r.floor_rate / r.mean;
      }
      metrics.push_back(std::move(m));
    }
    boost::json::object doc{{"floor",
                             {{"caf_request_response", floor.request_response},
                              {"caf_spawn_request_quit", floor.spawn_request_quit}}},
                            {"metrics", std::move(metrics)}};
    std::printf("%s\n", boost::json::serialize(doc).c_str());
  } else {
    std::printf("\nraw CAF floor (same process, same settings): request/response %.0f/s, "
                "spawn+request+quit %.0f/s\n"
                "'vs floor' = cost of one Manta call in units of one floor operation\n"
                "'vs Ray' = Manta on this machine / Ray 2.31's published figure (64 cores)\n",
                floor.request_response, floor.spawn_request_quit);
  }
  return 0;
}

} // namespace manta::tools
