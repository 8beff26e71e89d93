// Cross-node figures on a local cluster (head and workers are child
// processes of this program on 127.0.0.1), each next to its floor measured in
// the same run:
//   - task round trip: one no-op task submitted and gotten, repeated, on a
//     worker node (the driver has no CPUs), against CAF's own sequential
//     request/response between two processes, and against a raw TCP
//     ping-pong between two processes (tools/raw_stream.hpp: 256-byte
//     request and reply, about a TaskSpec's and a TaskResult's size);
//   - small result round trip: one task at a time whose result is
//     256 KiB (under the 1 MiB inline limit, so it comes back inside the
//     result message), against a raw TCP ping-pong with a 256 KiB reply;
//   - async task throughput: many tasks submitted, then gotten, over two
//     worker nodes;
//   - mixed long/short workload: a task of 1 s, then 40 of 25 ms, on the two
//     workers, against the ideal (the work over the CPUs, or the longest
//     task if that is more: 1 s): short tasks queued behind the long one
//     while the other worker idles show here (1.5 s);
//   - object transfer: a large result made on a worker, its bytes read by
//     the driver over the raw data path, against this machine's memcpy
//     bandwidth and a raw TCP stream of as many bytes between two
//     processes (tools/raw_stream.hpp), the read landing in fresh memory
//     (mapped before its first byte lands); the same read again, landing
//     in the memory the first left in the buffer pool, as a node's next
//     large read does; then a get of it (transfer and decoding into the
//     vector).
//   - large generator items: a generator task on a worker yields 8 MiB
//     items (kept there, above the inline limit), the driver reads each
//     over the data path as it comes, against the same memcpy bandwidth;
//   - actor calls through handles: sync calls per second from the driver to
//     an actor on a worker (direct), from a task on a worker to an actor on
//     the driver through the handle it was given (one hop), and from a task
//     on one worker to an actor on the other (two hops, through the driver);
//   - placement groups: a STRICT_SPREAD group of two 1-CPU bundles (one
//     on each worker) created, waited for and removed, repeated;
//   - broadcast (--broadcast-nodes=K): one object put by the driver, read
//     by a task on each of K single-CPU worker nodes at once (Ray's 1 GiB
//     broadcast to 50 nodes), against the driver's serial transfer time;
//     then the MiB each process served (the driver, and readers serving
//     their copies, complete or still arriving).
//
//   cluster_benchmark [--tasks=N] [--round-trips=N] [--megabytes=N] [--transport=plain]
//   cluster_benchmark --round-trips-only=N [--transport=plain]   (for a profiler; then the
//     raw TCP ping-pong, and the ping-pong with one and two thread hand-offs, of the same run)
//   cluster_benchmark --small-results-only=N [--transport=plain]  (for a profiler: a task's
//     and an actor call's 256 KiB result, N round trips each)
//   cluster_benchmark --generator-only=N [--transport=plain]      (for a profiler)
//
// The cluster runs TLS (the default) unless --transport=plain says plain TCP,
// so that the two can be measured side by side with the same binary.
//   cluster_benchmark --broadcast-nodes=K [--megabytes=N]

#include "tools/benchmark_options.hpp"
#include "tools/caf_floor.hpp"
#include "tools/raw_stream.hpp"

#include <manta/manta.hpp>

#include "manta/cluster/object_fetch.hpp"
#include "manta/net/object_transfer.hpp"
#include "manta/cluster/remote_object.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

int nothing(int x) {
  return x;
}

/// `bytes` of a pattern seeded by `seed` (checked after the transfer).
std::vector<uint64_t> pattern(uint64_t bytes, uint64_t seed) {
  std::vector<uint64_t> v(bytes / sizeof(uint64_t));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = seed * 0x9E3779B97F4A7C15ull + i;
  return v;
}

/// Checks the broadcast object on the node that received it.
uint64_t sum_bytes(const std::vector<char>& v) {
  uint64_t h = 0;
  for (size_t i = 0; i < v.size(); i += 4096)
    h += static_cast<unsigned char>(v[i]);
  return h + v.size();
}

/// A result of `bytes` bytes (cross_node_small_result_rt).
std::vector<char> small_result(uint64_t bytes) {
  return std::vector<char>(bytes, 'r');
}

int nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

int which_node(int) {
  return manta::current_node();
}

/// Bytes this node's transfer server has sent.
uint64_t served_here(int) {
  return manta::detail::bytes_served();
}

/// Yields 0..n-1 (cross_node_generator_items).
void count_up(manta::generator_sink<int>& out, int n) {
  for (int i = 0; i < n; ++i)
    out.yield(i);
}

/// Yields `count` items of `bytes` bytes, item k seeded by k
/// (cross_node_generator_large_items: each stays on the worker and is read
/// over the data path).
void large_items(manta::generator_sink<std::vector<uint64_t>>& out, uint64_t bytes, int count) {
  for (int k = 0; k < count; ++k)
    out.yield(pattern(bytes, static_cast<uint64_t>(k)));
}

/// Reads the ref inside its argument (cross_node_borrowed_ref_round_trip).
int read_inner(std::vector<manta::object_ref<int>> refs) {
  return manta::get(refs.front());
}

MANTA_REMOTE(nothing, small_result, nap, pattern, sum_bytes, which_node, served_here, count_up,
             large_items, read_inner);

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

class pinger {
public:
  int ping(int x) { return x; }
  /// A result of `bytes` bytes (cross_node_small_call_result_rt).
  std::vector<char> blob(uint64_t bytes) { return small_result(bytes); }
};
MANTA_ACTOR(pinger, &pinger::ping, &pinger::blob);

/// Sequential calls per second through `h`, made where this runs; -1 on a
/// wrong answer.
double calls_per_s(manta::actor_handle<pinger> h, long n) {
  for (int i = 0; i < 20; ++i) // warm up the path
    manta::get(h.call(&pinger::ping).remote(i));
  auto start = steady::now();
  for (long i = 0; i < n; ++i)
    if (manta::get(h.call(&pinger::ping).remote(static_cast<int>(i))) != i)
      return -1;
  return static_cast<double>(n) / seconds_since(start);
}
MANTA_REMOTE(calls_per_s);

/// Sequential cross-process CAF round trips per second: the floor of a
/// cross-node task round trip. The echo runs in a child process.
double remote_caf_floor(size_t n) {
  char tmpl[] = "/tmp/manta-caf-echo-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    return 0;
  std::string file = std::string{tmpl} + "/port";
  auto pid = ::fork();
  if (pid == 0)
    manta::tools::serve_caf_echo(file);
  unsigned port = 0;
  for (int i = 0; i < 1000 && port == 0; ++i) {
    std::ifstream in{file};
    in >> port;
    if (port == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  double rate = port == 0
                  ? 0
                  : manta::tools::measure_remote_request_response(static_cast<uint16_t>(port), n);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  std::remove(file.c_str());
  ::rmdir(tmpl);
  return rate;
}

double memcpy_gb_per_s(size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 0);
  std::memcpy(b.data(), a.data(), bytes); // touch the pages first
  auto start = steady::now();
  std::memcpy(b.data(), a.data(), bytes);
  return static_cast<double>(bytes) / seconds_since(start) / 1e9;
}

struct spread {
  double mean = 0;
  double median = 0;
  double p99 = 0;
};

/// The mean, median and 99th percentile of `us` (sorts it; not empty).
spread summary_of(std::vector<double> us) {
  spread out;
  for (auto x : us)
    out.mean += x / static_cast<double>(us.size());
  std::sort(us.begin(), us.end());
  out.median = us[us.size() / 2];
  out.p99 = us[us.size() * 99 / 100];
  return out;
}

/// Only the task round trip, `n` times on one worker, without the other
/// figures: what a profiler (perf, strace) attached to the cluster sees is
/// then the round trip alone. Its floors on this link come after it, the
/// cluster idle: a raw TCP ping-pong of as many round trips (256 bytes each
/// way), and the same with a thread hand-off on the server, then on both
/// ends (tools/raw_stream.hpp, `hand_offs`).
int round_trips_only(long n, const manta::tls_options& tls) {
  manta::local_cluster c{tls};
  c.add_worker(1);
  c.join(0);
  for (int i = 0; i < 100; ++i) // warm up connections and threads
    manta::get(manta::task(nothing).remote(i));
  std::vector<double> us(static_cast<size_t>(n));
  for (long i = 0; i < n; ++i) {
    auto start = steady::now();
    if (manta::get(manta::task(nothing).remote(static_cast<int>(i))) != i)
      return std::fprintf(stderr, "BUG: wrong result\n"), 1;
    us[static_cast<size_t>(i)] = seconds_since(start) * 1e6;
  }
  auto task = summary_of(us);
  std::printf("cross_node_task_round_trip  mean %.1f us  median %.1f us  99th percentile %.1f us "
              "(%ld round trips)\n",
              task.mean, task.median, task.p99, n);
  // Then, the cluster idle, the floors on this link: the raw ping-pong, and
  // the same with one or two thread hand-offs (docs/cluster.md, "The floor
  // of a direct task lane").
  auto ping = summary_of(manta_tools::raw_ping_pong{256, 256}.round_trips_us(n));
  std::printf("raw TCP ping-pong            mean %.1f us  median %.1f us  99th percentile %.1f us "
              "(round trip / ping-pong: mean %.2fx, median %.2fx)\n",
              ping.mean, ping.median, ping.p99, task.mean / ping.mean, task.median / ping.median);
  for (auto hops : {manta_tools::hand_offs{true, false}, manta_tools::hand_offs{true, true}}) {
    auto lane = summary_of(manta_tools::raw_ping_pong{256, 256, hops}.round_trips_us(n));
    std::printf("ping-pong, %s  mean %.1f us  median %.1f us  99th percentile %.1f us "
                "(/ ping-pong: mean %.2fx, median %.2fx)\n",
                hops.client ? "2 hand-offs" : "1 hand-off ", lane.mean, lane.median, lane.p99,
                lane.mean / ping.mean, lane.median / ping.median);
  }
  return 0;
}

/// Prints the mean, median and 99th percentile of `us` (sorts it).
void print_spread(const char* row, std::vector<double>& us, const char* unit, const char* what) {
  double mean = 0;
  for (auto x : us)
    mean += x / static_cast<double>(us.size());
  std::sort(us.begin(), us.end());
  std::printf("%s  mean %.1f %s  median %.1f %s  min %.1f  max %.1f (%zu %s)\n", row, mean, unit,
              us[us.size() / 2], unit, us.front(), us.back(), us.size(), what);
}

/// Microseconds of each of `n` round trips of `make` (after 20 to warm
/// up connections, threads and buffers), each returning `bytes` bytes; empty
/// on a wrong size.
template <class Make>
std::vector<double> small_round_trips(long n, uint64_t bytes, Make make) {
  for (int i = 0; i < 20; ++i)
    manta::get_shared(make());
  std::vector<double> us(static_cast<size_t>(n));
  for (long i = 0; i < n; ++i) {
    auto start = steady::now();
    if (manta::get_shared(make())->size() != bytes)
      return {};
    us[static_cast<size_t>(i)] = seconds_since(start) * 1e6;
  }
  return us;
}

/// Only the small result round trips (256 KiB inline), `n` times on one
/// worker, of a task and of an actor call, for a profiler.
int small_results_only(long n, const manta::tls_options& tls) {
  constexpr uint64_t small_bytes = uint64_t{256} << 10;
  manta::local_cluster c{tls};
  c.add_worker(1);
  c.join(0);
  auto tasks = small_round_trips(n, small_bytes,
                                 [&] { return manta::task(small_result).remote(small_bytes); });
  // On the worker (the one node with CPUs, so where `which_node` runs).
  auto worker = static_cast<manta::node_id>(manta::get(manta::task(which_node).remote(0)));
  auto a = manta::actor<pinger>().node_affinity(worker).remote();
  auto calls = small_round_trips(n, small_bytes,
                                 [&] { return a.call(&pinger::blob).remote(small_bytes); });
  if (tasks.empty() || calls.empty())
    return std::fprintf(stderr, "BUG: wrong small result\n"), 1;
  print_spread("cross_node_small_result_rt", tasks, "us", "round trips");
  print_spread("cross_node_small_call_result_rt", calls, "us", "round trips");
  return 0;
}

/// Only the generator items (one generator task of 20,000 items on a
/// worker), `n` times, for a profiler.
int generator_only(long n, const manta::tls_options& tls) {
  constexpr int items = 20000;
  manta::local_cluster c{tls};
  c.add_worker(1);
  c.join(0);
  for (int i = 0; i < 100; ++i) // warm up connections and threads
    manta::get(manta::task(nothing).remote(i));
  std::vector<double> rates;
  for (long k = 0; k < n; ++k) {
    auto start = steady::now();
    long sum = 0;
    for (auto& ref : manta::task(count_up).remote(items))
      sum += manta::get(ref);
    rates.push_back(items / seconds_since(start));
    if (sum != static_cast<long>(items) * (items - 1) / 2)
      return std::fprintf(stderr, "BUG: generator items sum to %ld\n", sum), 1;
  }
  print_spread("cross_node_generator_items", rates, "/s", "generators of 20,000 items");
  return 0;
}

/// `megabytes` put here, read by one task pinned on each of `nodes` workers.
int broadcast(long nodes, long megabytes, const manta::tls_options& tls) {
  manta::local_cluster c{tls};
  for (long i = 0; i < nodes; ++i)
    c.add_worker(1);
  c.join(0);
  std::set<manta::node_id> workers;
  for (int i = 0; i < 50 * nodes && static_cast<long>(workers.size()) < nodes; ++i)
    workers.insert(
      static_cast<manta::node_id>(manta::get(manta::task(which_node).spread().remote(i))));
  workers.erase(manta::current_node());
  if (static_cast<long>(workers.size()) != nodes)
    return std::fprintf(stderr, "BUG: found %zu of %ld workers\n", workers.size(), nodes), 1;
  uint64_t bytes = static_cast<uint64_t>(megabytes) << 20;
  std::vector<char> data(bytes);
  for (size_t i = 0; i < data.size(); i += 4096)
    data[i] = static_cast<char>(i / 4096);
  auto expect = [&] {
    uint64_t h = 0;
    for (size_t i = 0; i < data.size(); i += 4096)
      h += static_cast<unsigned char>(data[i]);
    return h + data.size();
  }();
  auto obj = manta::put(std::move(data));
  auto start = steady::now();
  std::vector<manta::object_ref<uint64_t>> sums;
  for (auto w : workers)
    sums.push_back(manta::task(sum_bytes).node_affinity(w).remote(obj));
  for (auto& r : sums)
    if (manta::get(r, std::chrono::seconds(600)) != expect)
      return std::fprintf(stderr, "BUG: a node saw other bytes\n"), 1;
  double secs = seconds_since(start);
  std::printf("broadcast  %ld MiB to %ld nodes: %.2f s (%.2f GB/s delivered in all)\n", megabytes,
              nodes, secs, double(bytes) * double(nodes) / secs / 1e9);
  // Who served the bytes: the driver alone, or the readers too (copies).
  std::printf("served by the driver %.0f MiB, by the readers",
              manta::detail::bytes_served() / 1048576.0);
  for (auto w : workers)
    std::printf(" %.0f",
                manta::get(manta::task(served_here).node_affinity(w).remote(0)) / 1048576.0);
  std::printf(" MiB\n");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (manta::is_cluster_process(argc, argv))
    return manta::init(argc, argv), 0; // a head or worker: never returns here
  manta::tools::benchmark_options flags{
    "cluster_benchmark",
    "usage: cluster_benchmark [--tasks=N] [--round-trips=N] [--megabytes=N] [--transport=plain]\n"
    "       cluster_benchmark --round-trips-only=N | --small-results-only=N | --generator-only=N\n"
    "       cluster_benchmark --broadcast-nodes=K [--megabytes=N]\n"
    "Cross-node figures on a local cluster, each beside its floor measured in the same run\n"
    "(tools/cluster_benchmark.cpp says what each row measures)."};
  flags.number("tasks", 20000, 1, "tasks of the async throughput row")
    .number("round-trips", 2000, 1, "round trips of the task and actor call rows")
    .number("megabytes", 256, 1, "size of the transferred object")
    .number("broadcast-nodes", 0, 0, "only the broadcast to K worker nodes")
    .number("round-trips-only", 0, 0, "only N task round trips, then the ping-pong floors")
    .number("small-results-only", 0, 0, "only N round trips of a 256 KiB result")
    .number("generator-only", 0, 0, "only N runs of the large generator items")
    .text("transport", "tls", "the cluster's transport", {"tls", "plain"});
  if (auto done = flags.read(argc, argv))
    return *done;
  long round_trips = flags.number("round-trips");
  long tasks = flags.number("tasks");
  long megabytes = flags.number("megabytes");
  long nodes = flags.number("broadcast-nodes");
  long only = flags.number("round-trips-only");
  long small_only = flags.number("small-results-only");
  long generator_runs = flags.number("generator-only");
  manta::tls_options transport;
  transport.plain = flags.text("transport") == "plain";
  if (nodes > 0)
    return broadcast(nodes, megabytes, transport);
  if (only > 0)
    return round_trips_only(only, transport);
  if (small_only > 0)
    return small_results_only(small_only, transport);
  if (generator_runs > 0)
    return generator_only(generator_runs, transport);
  double floor_rr = remote_caf_floor(static_cast<size_t>(round_trips));
  double copy_gbs = memcpy_gb_per_s(static_cast<size_t>(megabytes) << 20);
  auto tls = transport;
  std::printf("transport: %s\n", tls.plain ? "plain TCP" : "TLS (the default)");
  manta::local_cluster c{tls};
  c.add_worker(1);
  c.add_worker(1);
  c.join(0);
  // Round trip: one task at a time.
  for (int i = 0; i < 100; ++i) // warm up connections and threads
    manta::get(manta::task(nothing).remote(i));
  auto start = steady::now();
  for (long i = 0; i < round_trips; ++i)
    if (manta::get(manta::task(nothing).remote(static_cast<int>(i))) != i)
      return std::fprintf(stderr, "BUG: wrong result\n"), 1;
  double rt_us = seconds_since(start) * 1e6 / static_cast<double>(round_trips);
  // Small results: one at a time, each 256 KiB, inline in its message.
  constexpr uint64_t small_bytes = uint64_t{256} << 10;
  long small_n = std::max(round_trips / 4, 1L);
  for (int i = 0; i < 10; ++i) // warm up the buffers
    manta::get_shared(manta::task(small_result).remote(small_bytes));
  start = steady::now();
  for (long i = 0; i < small_n; ++i)
    if (manta::get_shared(manta::task(small_result).remote(small_bytes))->size() != small_bytes)
      return std::fprintf(stderr, "BUG: wrong small result\n"), 1;
  double small_us = seconds_since(start) * 1e6 / static_cast<double>(small_n);
  // Their floors on this link, in the same run: raw TCP ping-pongs.
  double ping_us = manta_tools::raw_ping_pong{256, 256}.round_trip_us(round_trips);
  double small_ping_us = manta_tools::raw_ping_pong{256, small_bytes}.round_trip_us(small_n);
  // Throughput: submit all, then get all.
  start = steady::now();
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(tasks));
  for (long i = 0; i < tasks; ++i)
    refs.push_back(manta::task(nothing).remote(static_cast<int>(i)));
  auto values = manta::get(refs);
  double rate = static_cast<double>(tasks) / seconds_since(start);
  for (long i = 0; i < tasks; ++i)
    if (values[static_cast<size_t>(i)] != i)
      return std::fprintf(stderr, "BUG: wrong result for task %ld\n", i), 1;
  // Generator items: one generator task on a worker, each item read by
  // the driver as it comes.
  double generator_rate = 0;
  {
    constexpr int items = 20000;
    start = steady::now();
    long sum = 0;
    for (auto& ref : manta::task(count_up).remote(items))
      sum += manta::get(ref);
    generator_rate = items / seconds_since(start);
    if (sum != static_cast<long>(items) * (items - 1) / 2)
      return std::fprintf(stderr, "BUG: generator items sum to %ld\n", sum), 1;
  }
  // Mixed: a long task first, short ones behind it.
  double mixed_s = 0, mixed_ideal_s = 0;
  {
    std::vector<int> work;
    for (int i = 0; i < 41; ++i)
      work.push_back(i == 0 ? 1000 : 25);
    double total_ms = 0, longest_ms = 0;
    for (int ms : work)
      total_ms += ms, longest_ms = std::max<double>(longest_ms, ms);
    mixed_ideal_s = std::max(total_ms / 2, longest_ms) / 1000; // 2 worker CPUs
    start = steady::now();
    std::vector<manta::object_ref<int>> naps;
    for (int ms : work)
      naps.push_back(manta::task(nap).remote(ms));
    manta::get(naps);
    mixed_s = seconds_since(start);
  }
  // Transfer: made on a worker, fetched on first read.
  uint64_t bytes = static_cast<uint64_t>(megabytes) << 20;
  auto blob = manta::task(pattern).remote(bytes, 7);
  manta::wait(std::vector{blob}, 1, std::chrono::seconds(120));
  double transfer_s = 0;
  double stream_s = 0;
  double reused_s = 0;
  {
    std::vector<char> raw;
    start = steady::now();
    if (auto err = manta::detail::fetch_remote_bytes(blob.slot()->remote(), raw); !err.empty())
      return std::fprintf(stderr, "BUG: %s\n", err.c_str()), 1;
    transfer_s = seconds_since(start);
    if (raw.size() != bytes)
      return std::fprintf(stderr, "BUG: %zu bytes arrived\n", raw.size()), 1;
    // The link's floor: as many bytes down one raw TCP socket between two
    // processes, into memory touched already (the transfer's buffer is
    // populated before its bytes land).
    std::vector<char> sink;
    {
      manta_tools::raw_stream_server stream{raw.data(), bytes};
      sink.assign(bytes, 1); // after the fork: not shared with the stream's process
      stream.read(sink.data(), std::min<uint64_t>(bytes, 1u << 20)); // connected once: warm
      stream_s = stream.read(sink.data(), bytes);
    } // the stream's process (forked: it shares this one's pages) ended
    // A node's next large read lands in the memory the last one left in
    // the buffer pool (as `get` hands its bytes back once decoded): the
    // same object read again, as many bytes, pages mapped already.
    manta::detail::recycle_read_buffer(std::move(raw));
    std::vector<char> again;
    start = steady::now();
    if (auto err = manta::detail::fetch_remote_bytes(blob.slot()->remote(), again); !err.empty())
      return std::fprintf(stderr, "BUG: %s\n", err.c_str()), 1;
    reused_s = seconds_since(start);
    if (again != sink) // the stream carried the first read's bytes
      return std::fprintf(stderr, "BUG: the second read differs from the first\n"), 1;
  }
  start = steady::now();
  auto v = manta::get_shared(blob);
  double fetch_s = seconds_since(start);
  if (*v != pattern(bytes, 7))
    return std::fprintf(stderr, "BUG: the transferred object differs\n"), 1;
  double gbs = static_cast<double>(bytes) / transfer_s / 1e9;
  double get_gbs = static_cast<double>(bytes) / fetch_s / 1e9;
  // Large generator items: 8 MiB each (above the inline limit: kept on
  // the worker, read over the data path), read and checked as they come.
  double large_items_gbs = 0;
  constexpr uint64_t item_bytes = uint64_t{8} << 20;
  int large_count = static_cast<int>(std::max<long>(megabytes / 8, 4));
  {
    start = steady::now();
    int k = 0;
    for (auto& ref : manta::task(large_items).remote(item_bytes, large_count)) {
      auto item = manta::get_shared(ref);
      auto seed = static_cast<uint64_t>(k) * 0x9E3779B97F4A7C15ull; // pattern's
      if (item->size() != item_bytes / 8 || item->front() != seed
          || item->back() != seed + item->size() - 1)
        return std::fprintf(stderr, "BUG: generator item %d differs\n", k), 1;
      ++k;
    }
    if (k != large_count)
      return std::fprintf(stderr, "BUG: %d of %d large items came\n", k, large_count), 1;
    large_items_gbs = static_cast<double>(item_bytes) * large_count / seconds_since(start) / 1e9;
  }
  // Actor calls through handles (two distinct workers found by spreading).
  std::vector<manta::node_id> w;
  for (int i = 0; i < 100 && w.size() < 2; ++i) {
    auto n = static_cast<manta::node_id>(manta::get(manta::task(which_node).spread().remote(0)));
    if (std::find(w.begin(), w.end(), n) == w.end())
      w.push_back(n);
  }
  if (w.size() != 2)
    return std::fprintf(stderr, "BUG: tasks did not reach two workers\n"), 1;
  long calls = std::max(round_trips / 2, 1L);
  auto on_worker = manta::actor<pinger>().node_affinity(w[0]).remote();
  auto on_driver = manta::actor<pinger>().remote();
  double direct = calls_per_s(on_worker, calls);
  double one_hop = manta::get(
    manta::task(calls_per_s).node_affinity(w[1]).remote(on_driver, calls));
  double two_hops = manta::get(
    manta::task(calls_per_s).node_affinity(w[1]).remote(on_worker, calls));
  if (direct < 0 || one_hop < 0 || two_hops < 0)
    return std::fprintf(stderr, "BUG: a call through a handle answered wrong\n"), 1;
  // Borrowed refs: a ref inside a value to a task on a worker, which
  // borrows it (reporting to the driver), reads the object from the
  // driver's data path and returns.
  double borrowed_rate = 0;
  {
    auto inner = manta::put(1);
    long n = std::max(round_trips / 4, 1L);
    start = steady::now();
    for (long i = 0; i < n; ++i)
      if (manta::get(manta::task(read_inner).node_affinity(w[0]).remote(std::vector{inner})) != 1)
        return std::fprintf(stderr, "BUG: a borrowed ref read wrong\n"), 1;
    borrowed_rate = static_cast<double>(n) / seconds_since(start);
  }
  // Placement groups across nodes: each try prepares and commits on both
  // workers; the removal's releases reach them before the next prepare.
  long groups = std::max(round_trips / 10, 10L);
  start = steady::now();
  for (long k = 0; k < groups; ++k) {
    auto pg = manta::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}},
                                            manta::placement_strategy::strict_spread);
    if (!pg.wait(std::chrono::seconds(30)))
      return std::fprintf(stderr, "BUG: a placement group was not reserved\n"), 1;
    manta::remove_placement_group(pg);
  }
  double pg_rate = static_cast<double>(groups) / seconds_since(start);
  std::printf(
    "metric                              value          floor (same run)            ratio\n");
  std::printf("cross_node_task_round_trip   %9.1f us   CAF request/response %7.1f us   %5.2fx\n",
              rt_us, 1e6 / floor_rr, rt_us * floor_rr / 1e6);
  std::printf("cross_node_task_round_trip   %9.1f us   raw TCP ping-pong %10.1f us   %5.2fx   "
              "(256-byte request and reply)\n",
              rt_us, ping_us, rt_us / ping_us);
  std::printf("cross_node_small_result_rt   %9.1f us   raw TCP ping-pong %10.1f us   %5.2fx   "
              "(256 KiB result, inline; ping-pong: 256 KiB reply)\n",
              small_us, small_ping_us, small_us / small_ping_us);
  std::printf("cross_node_tasks_async       %9.0f /s   (2 workers x 1 CPU, %ld tasks)\n", rate,
              tasks);
  std::printf(
    "cross_node_generator_items   %9.0f /s   (one generator task on a worker, 20,000 items)\n",
    generator_rate);
  std::printf("cross_node_placement_group   %9.0f /s   (STRICT_SPREAD, 2 bundles on 2 workers: "
              "create, ready, remove; %ld groups)\n",
              pg_rate, groups);
  std::printf(
    "mixed_long_short_completion  %9.2f s    ideal %21.2f s    %5.2fx   (1 x 1 s + 40 x 25 ms)\n",
    mixed_s, mixed_ideal_s, mixed_s / mixed_ideal_s);
  std::printf("object_transfer              %9.2f GB/s memcpy %16.2f GB/s   %5.2fx\n", gbs,
              copy_gbs, gbs / copy_gbs);
  double stream_gbs = static_cast<double>(bytes) / stream_s / 1e9;
  std::printf("object_transfer_vs_stream    %9.2f GB/s raw TCP stream %8.2f GB/s   %5.2fx   (one "
              "socket between two processes, as many bytes)\n",
              gbs, stream_gbs, gbs / stream_gbs);
  double reused_gbs = static_cast<double>(bytes) / reused_s / 1e9;
  std::printf("object_transfer_reused       %9.2f GB/s raw TCP stream %8.2f GB/s   %5.2fx   (the "
              "same read again, into the memory the first left in the buffer pool)\n",
              reused_gbs, stream_gbs, reused_gbs / stream_gbs);
  std::printf("remote_object_get            %9.2f GB/s (transfer + decode into a fresh vector)\n",
              get_gbs);
  std::printf("cross_node_generator_large   %9.2f GB/s memcpy %16.2f GB/s   %5.2fx   (%d items "
              "of 8 MiB: made, yielded, read over the data path)\n",
              large_items_gbs, copy_gbs, large_items_gbs / copy_gbs, large_count);
  std::printf("(%ld MiB result: bytes in %.3f s; get, byte-exact, in %.3f s)\n", megabytes,
              transfer_s, fetch_s);
  std::printf("cross_node_actor_call_sync   %9.0f /s   (driver -> actor on a worker)\n", direct);
  std::printf("forwarded_handle_call_sync   %9.0f /s   (task on a worker -> actor on the driver)\n",
              one_hop);
  std::printf("forwarded_handle_call_2hops  %9.0f /s   (task on worker B -> driver -> actor on "
              "worker A)\n",
              two_hops);
  std::printf("cross_node_borrowed_ref_rt  %9.0f /s   (a ref inside a value to a task on a "
              "worker that reads it)\n",
              borrowed_rate);
  return 0;
}
