// Manta beside the C++ task libraries, in the same process and the same
// run: each local metric is run by Manta and by every peer this build has
// (TBB, OpenMP, Boost.Fiber, std::async, raw CAF, memcpy), interleaved
// round by round, and the medians are printed with the ratio of Manta's
// time to the peer's (above 1: Manta is slower).
//
//   build/tools/peers_benchmark [--rounds=N] [--quick] [--json]
//                               [--filter=SUBSTR] [--num-cpus=N] [--load=N]
//
// Peers are built in when meson finds them (tools/meson.build); the
// figures are in docs/performance.md, "Against the C++ task libraries".

#include "tools/peers/busy_load.hpp"
#include "tools/peers/peers.hpp"

#include <manta/manta.hpp>

#include <boost/json/src.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace peers = manta::tools::peers;
using clock_type = std::chrono::steady_clock;

/// One side of a metric: `run` does the metric's work once and returns the
/// seconds it took.
struct contender {
  std::string name;
  std::function<double()> run;
  std::vector<double> seconds = {};
  std::string failure = {}; // what it threw, if it did
};

/// One metric: Manta first, then its peers, each doing `ops` operations
/// per run. `bytes_per_op` > 0 makes it a throughput (GB/s) metric.
struct metric {
  std::string name;
  std::string what;
  long ops;
  double bytes_per_op = 0;
  std::vector<contender> sides = {};
};

template <class F>
std::function<double()> timed(F f) {
  return [f] {
    auto start = clock_type::now();
    f();
    return std::chrono::duration<double>(clock_type::now() - start).count();
  };
}

struct sizes {
  int tasks = 10000;
  int depth = 12;
  int calls = 10000;
  size_t bytes = size_t{256} << 20;
};

std::vector<metric> make_metrics(const sizes& n, const std::vector<peers::task_library>& libs,
                                 const std::vector<unsigned char>& buffer) {
  std::vector<metric> ms;
  long fork_join_tasks = (1L << (n.depth + 1)) - 1;
  ms.push_back(
    {"spawn_get", "spawn " + std::to_string(n.tasks) + " no-op tasks, then get all", n.tasks});
  ms.push_back({"one_at_a_time",
                "submit one no-op task and get it, " + std::to_string(n.tasks) + " times",
                n.tasks});
  ms.push_back({"fork_join",
                "recursive fork-join of depth " + std::to_string(n.depth) + " ("
                  + std::to_string(fork_join_tasks) + " tasks, each submits two and gets them)",
                fork_join_tasks});
  for (auto& lib : libs) {
    int tasks = n.tasks;
    int depth = n.depth;
    ms[0].sides.push_back({lib.name, timed([f = lib.spawn_get, tasks] { f(tasks); })});
    ms[1].sides.push_back({lib.name, timed([f = lib.one_at_a_time, tasks] { f(tasks); })});
    if (lib.fork_join)
      ms[2].sides.push_back({lib.name, timed([f = lib.fork_join, depth, fork_join_tasks] {
                               if (f(depth) != fork_join_tasks)
                                 std::abort();
                             })});
  }
  int calls = n.calls;
  ms.push_back({"actor_call_sync",
                "call an actor and get the result, " + std::to_string(calls) + " times", calls});
  ms.back().sides.push_back({"Manta", timed([f = peers::manta_actor_sync(), calls] { f(calls); })});
  ms.back().sides.push_back(
    {"raw CAF request/response", [calls] { return peers::caf_request_response_seconds(calls); }});
  ms.push_back(
    {"put_gigabytes",
     "put of a " + std::to_string(buffer.size() >> 20) + " MiB std::vector<uint8_t> (copied)", 1,
     static_cast<double>(buffer.size())});
  ms.back().sides.push_back({"Manta", timed([&buffer] { peers::manta_put(buffer); })});
  ms.back().sides.push_back(
    {"memcpy (mapped)", timed([&buffer] { peers::memcpy_mapped(buffer); })});
  return ms;
}

/// Runs every side once untimed, then `rounds` rounds of every side; each
/// round starts one side further on (A B C, B C A, ...), so that no side
/// always follows the same one (a pool still spinning after its run takes
/// CPU from whoever comes next).
void measure(metric& m, int rounds) {
  auto n = m.sides.size();
  for (int r = -1; r < rounds; ++r)
    for (size_t k = 0; k < n; ++k) {
      auto& side = m.sides[(k + static_cast<size_t>(std::max(r, 0))) % n];
      if (!side.failure.empty())
        continue;
      try {
        auto dt = side.run();
        if (r >= 0)
          side.seconds.push_back(dt);
      } catch (const std::exception& e) {
        side.failure = e.what();
      }
    }
}

double median(std::vector<double> v) {
  if (v.empty())
    return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  auto mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/// The figure of `seconds` for the metric: microseconds per operation, or
/// GB/s for a throughput metric.
double figure(const metric& m, double seconds) {
  if (m.bytes_per_op > 0)
    return m.bytes_per_op * static_cast<double>(m.ops) / seconds / 1e9;
  return seconds / static_cast<double>(m.ops) * 1e6;
}

const char* unit(const metric& m) {
  return m.bytes_per_op > 0 ? "GB/s" : "us/op";
}

/// The targets of the local path (issue 25): Manta's time at most `most`
/// times the peer's for the same work.
struct target {
  const char* metric;
  const char* peer;
  double most;
};
constexpr target targets[] = {{"spawn_get", "TBB", 2},
                              {"one_at_a_time", "TBB", 5},
                              {"fork_join", "Boost.Fiber", 2},
                              {"actor_call_sync", "raw CAF request/response", 4}};

/// Manta's time over `peer`'s in `m` (NaN if either has no figure).
double ratio(const metric& m, std::string_view peer) {
  for (auto& p : m.sides)
    if (&p != &m.sides[0] && p.name == peer)
      return median(m.sides[0].seconds) / median(p.seconds);
  return std::numeric_limits<double>::quiet_NaN();
}

void print_table(const std::vector<metric>& ms, int rounds) {
  std::printf("%-16s %-7s %10s  %-28s %10s %11s\n", "metric", "unit", "Manta", "peer", "peer",
              "Manta/peer");
  for (auto& m : ms) {
    auto manta_s = median(m.sides[0].seconds);
    for (size_t i = 1; i < m.sides.size(); ++i) {
      auto& p = m.sides[i];
      auto peer_s = median(p.seconds);
      if (i == 1)
        std::printf("%-16s %-7s %10.3f  ", m.name.c_str(), unit(m), figure(m, manta_s));
      else
        std::printf("%-16s %-7s %10s  ", "", "", "");
      if (!p.failure.empty())
        std::printf("%-28s failed: %s\n", p.name.c_str(), p.failure.c_str());
      else
        std::printf("%-28s %10.3f %10.2fx\n", p.name.c_str(), figure(m, peer_s), manta_s / peer_s);
    }
  }
  std::printf("\nmedians of %d interleaved rounds; 'Manta/peer' = Manta's time / the peer's "
              "time for the same work (above 1: Manta is slower)\n",
              rounds);
  for (auto& m : ms)
    std::printf("  %-16s %s\n", m.name.c_str(), m.what.c_str());
  std::printf("\ntargets (Manta's time / the peer's):\n");
  for (auto& t : targets)
    for (auto& m : ms)
      if (m.name == t.metric) {
        auto x = ratio(m, t.peer);
        std::printf("  %-16s <= %gx %-26s %8.2fx  %s\n", t.metric, t.most, t.peer, x,
                    std::isnan(x) ? "not measured"
                    : x <= t.most ? "met"
                                  : "NOT met");
      }
}

boost::json::object side_json(const metric& m, const contender& c) {
  boost::json::object o;
  o["name"] = c.name;
  if (!c.failure.empty()) {
    o["failed"] = c.failure;
    return o;
  }
  o["median"] = figure(m, median(c.seconds));
  boost::json::array runs;
  for (auto s : c.seconds)
    runs.push_back(figure(m, s));
  o["rounds"] = std::move(runs);
  return o;
}

void print_json(const std::vector<metric>& ms, int rounds) {
  boost::json::array out;
  for (auto& m : ms) {
    boost::json::object o;
    o["name"] = m.name;
    o["what"] = m.what;
    o["ops"] = m.ops;
    o["unit"] = m.bytes_per_op > 0 ? "GB_per_s" : "us_per_op";
    o["manta"] = side_json(m, m.sides[0]);
    boost::json::array ps;
    auto manta_s = median(m.sides[0].seconds);
    for (size_t i = 1; i < m.sides.size(); ++i) {
      auto p = side_json(m, m.sides[i]);
      if (m.sides[i].failure.empty())
        p["manta_time_over_peer"] = manta_s / median(m.sides[i].seconds);
      ps.push_back(std::move(p));
    }
    o["peers"] = std::move(ps);
    out.push_back(std::move(o));
  }
  boost::json::array ts;
  for (auto& t : targets)
    for (auto& m : ms)
      if (m.name == t.metric && !std::isnan(ratio(m, t.peer)))
        ts.push_back({{"metric", t.metric},
                      {"peer", t.peer},
                      {"at_most", t.most},
                      {"manta_time_over_peer", ratio(m, t.peer)},
                      {"met", ratio(m, t.peer) <= t.most}});
  boost::json::object doc;
  doc["rounds"] = rounds;
  doc["targets"] = std::move(ts);
  doc["cpus"] = std::thread::hardware_concurrency();
  doc["metrics"] = std::move(out);
  std::printf("%s\n", boost::json::serialize(doc).c_str());
}

/// Says what is wrong with an argument and where the options are listed;
/// returns 2 (bad usage, as the `manta` verbs).
/// Whether `text` is a whole number from `lo` to `hi`, stored in `out`.
bool whole_number(std::string_view text, int lo, int hi, int& out) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

int usage_error(const char* what, std::string_view got) {
  std::fprintf(stderr, "peers_benchmark: %s '%.*s'\n  (peers_benchmark --help lists the options)\n",
               what, static_cast<int>(std::min<size_t>(got.size(), 64)), got.data());
  return 2;
}

constexpr const char* help_text =
  "usage: peers_benchmark [--rounds=N] [--quick] [--json] [--filter=SUBSTR] [--num-cpus=N]\n"
  "                       [--load=N]\n"
  "Runs each local metric with Manta and with the C++ task libraries built in\n"
  "(TBB, OpenMP, Boost.Fiber when found; std::async, raw CAF and memcpy always),\n"
  "interleaved, and prints the medians and Manta's time / the peer's time.\n"
  "  --rounds=N       timed rounds per side (1-100, default 5)\n"
  "  --quick          small counts (1,000 tasks, depth 8, 32 MiB), 2 rounds\n"
  "  --json           one JSON document instead of the table\n"
  "  --filter=SUBSTR  only the metrics whose name contains SUBSTR\n"
  "  --num-cpus=N     Manta's CPUs (manta::init); the peers use every core\n"
  "  --load=N         N busy threads spin during the run (0-1024, default 0): the\n"
  "                   machine oversubscribed, e.g. 2 per core (issue 25, item 4)\n";

/// The load average now (/proc/loadavg's first field), -1 if unreadable:
/// printed with the figures, which depend on it.
double load_average() {
  std::ifstream in{"/proc/loadavg"};
  double x = -1;
  in >> x;
  return x;
}

} // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  bool json = false;
  bool quick = false;
  bool rounds_given = false;
  int load = 0;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--help" || arg == "-h") {
      std::fputs(help_text, stdout);
      return 0;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg.rfind("--filter=", 0) == 0) {
      filter = std::string{arg.substr(9)};
    } else if (arg.rfind("--rounds=", 0) == 0) {
      auto text = arg.substr(9);
      if (!whole_number(text, 1, 100, rounds))
        return usage_error("--rounds expects a whole number from 1 to 100, got", text);
      rounds_given = true;
    } else if (arg.rfind("--load=", 0) == 0) {
      auto text = arg.substr(7);
      if (!whole_number(text, 0, 1024, load))
        return usage_error("--load expects a number of busy threads from 0 to 1024, got", text);
    } else if (arg.rfind("--num-cpus=", 0) == 0) {
      // for manta::init below
    } else {
      return usage_error("unknown option", arg);
    }
  }
  sizes n;
  if (quick) {
    n = {1000, 8, 1000, size_t{32} << 20};
    if (!rounds_given)
      rounds = 2;
  }
  std::vector<unsigned char> buffer(n.bytes);
  for (size_t i = 0; i < buffer.size(); i += 64)
    buffer[i] = static_cast<unsigned char>(i / 64);
  manta::init(argc, argv);
  std::vector<peers::task_library> libs{peers::manta_tasks()};
#ifdef MANTA_PEER_TBB
  libs.push_back(peers::tbb_tasks());
  libs.push_back(peers::tbb_future_tasks());
#endif
#ifdef MANTA_PEER_OPENMP
  libs.push_back(peers::openmp_tasks());
#endif
#ifdef MANTA_PEER_FIBER
  libs.push_back(peers::fiber_tasks());
#endif
  libs.push_back(peers::std_async_tasks());
  auto all = make_metrics(n, libs, buffer);
  std::vector<metric> ms;
  for (auto& m : all)
    if (filter.empty() || m.name.find(filter) != std::string::npos)
      ms.push_back(std::move(m));
  if (ms.empty()) {
    manta::shutdown();
    return usage_error("--filter matches no metric (spawn_get, one_at_a_time, fork_join, "
                       "actor_call_sync, put_gigabytes), got",
                       filter);
  }
  {
    auto busy = load > 0 ? std::make_unique<peers::busy_load>(load) : nullptr;
    for (auto& m : ms) {
      if (!json)
        std::fprintf(stderr, "measuring %s...\n", m.name.c_str());
      measure(m, rounds);
    }
    if (!json)
      std::fprintf(stderr, "%d busy thread(s) of load, %u cores, load average %.2f\n", load,
                   std::thread::hardware_concurrency(), load_average());
  }
  manta::shutdown();
  if (json)
    print_json(ms, rounds);
  else
    print_table(ms, rounds);
  return 0;
}
