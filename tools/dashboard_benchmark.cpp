// The dashboard's cost (issue 23): how long one refresh of the page takes
// when a node holds 100,000 finished tasks. A refresh is the requests the
// page makes each second (tools/dashboard/dashboard.js, `refresh`), in its
// order, one after the other as the page awaits them:
//   /api/status /api/series /api/tasks?newest=500 /api/actors
//   /api/memory /api/jobs /api/placement_groups /api/timeline?newest=2000
//   /api/log_lines?node=&tail=200&limit=200
// (a node answers /api/jobs with 404, the head keeps the jobs: the page
// shows that answer's reason, so it is timed as any other).
// Prints each request's median time and size over the rounds, and the
// refresh's median and worst; exits 1 when the median refresh is over the
// target (200 ms).
//
//   build/tools/dashboard_benchmark [--tasks=N] [--rounds=R]          one node
//   build/tools/dashboard_benchmark --head [--workers=W] [--tasks=N]  the head
//     of a local cluster (manta::local_cluster) whose W workers hold N each
//   --page=before: the requests the page made before it asked for bounded
//     answers (all tasks, the whole timeline), for the comparison
//
// The figures are in docs/observability.md, "The dashboard's cost".

#include "tools/http_client.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

int add_one(int x) {
  return x + 1;
}
MANTA_REMOTE(add_one);

/// The page's requests per refresh, in its order (dashboard.js).
const std::vector<std::string> refresh_requests_now = {
  "/api/status",
  "/api/series",
  "/api/tasks?newest=500",
  "/api/actors",
  "/api/memory",
  "/api/jobs",
  "/api/placement_groups",
  "/api/timeline?newest=2000",
  "/api/log_lines?node=&tail=200&limit=200",
};

/// The page's requests before it asked for bounded answers (all tasks, the
/// whole timeline, no logs view): `--page=before`, for the comparison.
const std::vector<std::string> refresh_requests_before = {
  "/api/status", "/api/series", "/api/tasks", "/api/actors", "/api/memory", "/api/timeline",
};

struct options {
  size_t tasks = 100000;
  size_t workers = 2;
  size_t rounds = 7;
  bool head = false;
  bool before = false;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> long {
      auto v = std::strtol(std::string{a.substr(flag.size())}.c_str(), nullptr, 10);
      if (v <= 0) {
        std::fprintf(stderr, "dashboard_benchmark: %.*s expects a positive count, got '%s'\n",
                     int(flag.size() - 1), flag.data(), argv[i]);
        std::exit(2);
      }
      return v;
    };
    if (a.rfind("--tasks=", 0) == 0)
      o.tasks = static_cast<size_t>(value("--tasks="));
    else if (a.rfind("--workers=", 0) == 0)
      o.workers = static_cast<size_t>(value("--workers="));
    else if (a.rfind("--rounds=", 0) == 0)
      o.rounds = static_cast<size_t>(value("--rounds="));
    else if (a == "--head")
      o.head = true;
    else if (a == "--page=before")
      o.before = true;
    else {
      std::fprintf(stderr,
                   "dashboard_benchmark: unknown argument '%s'\n"
                   "usage: dashboard_benchmark [--head] [--workers=W] [--tasks=N] [--rounds=R] "
                   "[--page=before]\n",
                   argv[i]);
      std::exit(2);
    }
  }
  return o;
}

/// Runs `n` tasks in batches (a bounded number in flight) and gets them.
void run_tasks(size_t n) {
  constexpr size_t batch = 20000;
  for (size_t done = 0; done < n;) {
    std::vector<manta::object_ref<int>> refs;
    auto k = std::min(batch, n - done);
    refs.reserve(k);
    for (size_t i = 0; i < k; ++i)
      refs.push_back(manta::task(add_one).remote(static_cast<int>(i)));
    manta::get(refs, std::chrono::seconds(300));
    done += k;
  }
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Times `rounds` refreshes against `address`; returns the median refresh.
double time_refreshes(const std::string& address, size_t rounds,
                      const std::vector<std::string>& refresh_requests) {
  std::vector<std::vector<double>> per(refresh_requests.size());
  std::vector<size_t> sizes(refresh_requests.size());
  std::vector<double> totals;
  for (size_t r = 0; r < rounds; ++r) {
    auto t0 = clock_type::now();
    for (size_t i = 0; i < refresh_requests.size(); ++i) {
      auto t = clock_type::now();
      auto got = manta::tools::http_get(address, refresh_requests[i], 60);
      per[i].push_back(ms_since(t));
      // A node keeps no jobs (the head does): its 404 is the page's answer.
      bool kept_elsewhere = got.status == 404 && refresh_requests[i] == "/api/jobs";
      if (got.status != 200 && !kept_elsewhere) {
        std::fprintf(stderr, "dashboard_benchmark: %s answered %d %s%s\n",
                     refresh_requests[i].c_str(), got.status, got.error.c_str(),
                     got.body.substr(0, 200).c_str());
        std::exit(1);
      }
      sizes[i] = got.body.size();
    }
    totals.push_back(ms_since(t0));
  }
  for (size_t i = 0; i < refresh_requests.size(); ++i)
    std::printf("  %-42s %9.1f ms %10zu bytes\n", refresh_requests[i].c_str(), median(per[i]),
                sizes[i]);
  auto m = median(totals);
  std::printf("  refresh: median %.1f ms, worst %.1f ms over %zu rounds\n", m,
              *std::max_element(totals.begin(), totals.end()), rounds);
  return m;
}

} // namespace

int main(int argc, char** argv) {
  if (manta::is_cluster_process(argc, argv)) {
    manta::init(argc, argv); // the head or a worker: never returns
    return 1;
  }
  auto o = parse(argc, argv);
  auto history = "--task-history=" + std::to_string(o.tasks);
  double refresh = 0;
  auto& page = o.before ? refresh_requests_before : refresh_requests_now;
  if (!o.head) {
    manta::init_options opts;
    opts.num_cpus = 2;
    opts.dashboard_port = 0;
    opts.task_history = o.tasks;
    manta::init(std::move(opts));
    auto t0 = clock_type::now();
    run_tasks(o.tasks);
    std::printf("one node holding %zu finished tasks (ran in %.1f s); a page refresh:\n",
                manta::list_tasks().size(), ms_since(t0) / 1000);
    refresh = time_refreshes(manta::dashboard_url(), o.rounds, page);
    manta::shutdown();
  } else {
    manta::local_cluster c;
    for (size_t i = 0; i < o.workers; ++i)
      c.add_worker(2, "", {history});
    c.join(0); // no CPUs here: every task runs on a worker
    auto t0 = clock_type::now();
    run_tasks(o.tasks * o.workers);
    std::printf("the head of %zu workers holding %zu finished tasks in all (ran in %.1f s); a "
                "page refresh:\n",
                o.workers, o.tasks * o.workers, ms_since(t0) / 1000);
    // What ran on the workers (each keeps up to N records of it).
    auto status = manta::tools::http_get(c.dashboard_address(), "/api/status", 60).body;
    boost::json::error_code ec;
    auto doc = boost::json::parse(status, ec);
    const boost::json::value* finished = nullptr;
    if (auto* tasks = ec || !doc.is_object() ? nullptr : doc.as_object().if_contains("tasks"))
      finished = tasks->is_object() ? tasks->as_object().if_contains("FINISHED") : nullptr;
    std::printf("  the workers report %lld finished tasks\n",
                finished != nullptr && finished->is_number() ? finished->to_number<long long>()
                                                             : -1LL);
    refresh = time_refreshes(c.dashboard_address(), o.rounds, page);
  }
  std::printf("target: under 200 ms: %s\n", refresh < 200 ? "met" : "MISSED");
  return refresh < 200 ? 0 : 1;
}
