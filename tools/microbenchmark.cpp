#include "tools/microbenchmark.hpp"

#include "tools/caf_floor.hpp"

#include <manta/manta.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

int small_value() {
  return 0;
}
MANTA_REMOTE(small_value);

using clock_type = std::chrono::steady_clock;

/// One metric: `body` performs `ops` operations, each counted as one call in
/// Ray's definition of the metric.
struct metric {
  const char* name;
  size_t ops;
  std::function<void()> body;
  /// Which floor the metric is compared with (nullptr: none).
  const char* floor_name;
  double floor_rate;
};

struct result {
  std::string name;
  double mean;
  double sd;
  const char* floor_name;
  double floor_rate;
};

result measure(const metric& m, int runs) {
  m.body(); // warm up
  std::vector<double> rates;
  for (int i = 0; i < runs; ++i) {
    auto start = clock_type::now();
    m.body();
    std::chrono::duration<double> dt = clock_type::now() - start;
    rates.push_back(static_cast<double>(m.ops) / dt.count());
  }
  double mean = 0;
  for (auto r : rates)
    mean += r;
  mean /= static_cast<double>(rates.size());
  double var = 0;
  for (auto r : rates)
    var += (r - mean) * (r - mean);
  double sd = rates.size() > 1 ? std::sqrt(var / static_cast<double>(rates.size() - 1)) : 0.0;
  return {m.name, mean, sd, m.floor_name, m.floor_rate};
}

std::vector<metric> make_metrics(const manta::tools::caf_floor& floor) {
  std::vector<metric> ms;
  auto rr = floor.request_response;
  auto srq = floor.spawn_request_quit;
  // ray.get(ref) of a small object already in the store.
  ms.push_back({"single_client_get_calls", 100000, [] {
                  auto ref = manta::put(0);
                  long sum = 0;
                  for (int i = 0; i < 100000; ++i)
                    sum += manta::get(ref);
                  if (sum != 0)
                    std::abort();
                },
                "caf_request_response", rr});
  // ray.put(0), refs kept until the end of the batch.
  ms.push_back({"single_client_put_calls", 100000, [] {
                  std::vector<manta::object_ref<int>> refs;
                  refs.reserve(100000);
                  for (int i = 0; i < 100000; ++i)
                    refs.push_back(manta::put(i));
                },
                "caf_request_response", rr});
  // Submit one no-op task, get it, repeat.
  ms.push_back({"single_client_tasks_sync", 10000, [] {
                  for (int i = 0; i < 10000; ++i)
                    manta::get(manta::task(small_value).remote());
                },
                "caf_spawn_request_quit", srq});
  // Submit 1000 no-op tasks, then get them all; 10 rounds.
  ms.push_back({"single_client_tasks_async", 10000, [] {
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
  // ray.get([small_value.remote() for _ in range(1000)]) counts as one call.
  ms.push_back({"single_client_tasks_and_get_batch", 10, [] {
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
  ms.push_back({"single_client_wait_1k_refs", 5, [] {
                  for (int round = 0; round < 5; ++round) {
                    std::vector<manta::object_ref<int>> not_ready;
                    for (int i = 0; i < 1000; ++i)
                      not_ready.push_back(manta::task(small_value).remote());
                    while (!not_ready.empty())
                      not_ready = manta::wait(not_ready, 1).pending;
                  }
                },
                nullptr, 0});
  return ms;
}

} // namespace

namespace manta::tools {

int microbenchmark_main(int argc, char** argv) {
  std::string filter;
  bool json = false;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg.rfind("--filter=", 0) == 0) {
      filter = std::string{arg.substr(9)};
    } else if (arg == "--json") {
      json = true;
    } else if (arg.rfind("--runs=", 0) == 0) {
      runs = std::max(1, std::atoi(argv[i] + 7));
    } else if (arg.rfind("--num-cpus", 0) == 0 || arg.rfind("--scheduler-threads", 0) == 0) {
      // handled by manta::init below
    } else {
      std::fprintf(stderr,
                   "manta microbenchmark: unknown option '%s'\n"
                   "usage: manta microbenchmark [--filter=SUBSTR] [--json] "
                   "[--runs=N] [--num-cpus=N]\n",
                   argv[i]);
      return 2;
    }
  }
  auto floor = measure_caf_floor(200000);
  manta::init(argc, argv);
  auto metrics = make_metrics(floor);
  std::vector<result> results;
  if (!json)
    std::printf("%-40s %16s %12s %10s  %s\n", "metric", "per second", "+- sd",
                "vs floor", "floor");
  for (auto& m : metrics) {
    if (!filter.empty() && std::string_view{m.name}.find(filter) == std::string_view::npos)
      continue;
    auto r = measure(m, runs);
    results.push_back(r);
    if (!json) {
      if (r.floor_name != nullptr)
        std::printf("%-40s %16.1f %12.1f %9.2fx  %s (%.0f/s)\n", r.name.c_str(), r.mean,
                    r.sd, r.floor_rate / r.mean, r.floor_name, r.floor_rate);
      else
        std::printf("%-40s %16.1f %12.1f %10s\n", r.name.c_str(), r.mean, r.sd, "-");
      std::fflush(stdout);
    }
  }
  manta::shutdown();
  if (json) {
    std::printf("{\"floor\": {\"caf_request_response\": %.1f, "
                "\"caf_spawn_request_quit\": %.1f}, \"metrics\": [",
                floor.request_response, floor.spawn_request_quit);
    for (size_t i = 0; i < results.size(); ++i) {
      auto& r = results[i];
      std::printf("%s{\"name\": \"%s\", \"per_second\": %.1f, \"sd\": %.1f", i ? ", " : "",
                  r.name.c_str(), r.mean, r.sd);
      if (r.floor_name != nullptr)
        std::printf(", \"floor\": \"%s\", \"times_floor_cost\": %.3f", r.floor_name,
                    r.floor_rate / r.mean);
      std::printf("}");
    }
    std::printf("]}\n");
  } else {
    std::printf("\nraw CAF floor (same process, same settings): request/response %.0f/s, "
                "spawn+request+quit %.0f/s\n"
                "'vs floor' = cost of one Manta call in units of one floor operation\n",
                floor.request_response, floor.spawn_request_quit);
  }
  return 0;
}

} // namespace manta::tools
