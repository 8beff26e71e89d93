/// Runs every demo with --fast, as a user would, and checks what it prints.
/// The demo paths come from demos/meson.build as compile definitions.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "shell_command.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>
#include <string>
#include <thread>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using manta_test::contains;

/// Runs `cmd` through the shell and collects stdout and stderr.
manta_test::command_result run(const std::string& cmd) {
  return manta_test::run_command(cmd);
}

/// The text after `prefix` on the first line that starts with it (after
/// leading blanks), or "" if there is none.
std::string after(const std::string& text, const std::string& prefix) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, prefix.size(), prefix) == 0)
      return line.substr(start + prefix.size());
  }
  return {};
}

/// The first line of `text` that contains `what`, or "".
std::string line_with(const std::string& text, const std::string& what) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (contains(line, what))
      return line;
  return {};
}

/// The CPU count a demo reports as "<n> CPUs".
double cpus_in(const std::string& text) {
  auto at = text.find(" CPUs");
  REQUIRE(at != std::string::npos);
  auto start = text.rfind(' ', at - 1);
  return std::stod(text.substr(start + 1, at - start - 1));
}

/// CPU seconds the whole machine has spent busy since boot, the
/// hypervisor's steal time included (0 where /proc/stat is missing).
double machine_busy_s() {
  std::ifstream in{"/proc/stat"};
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal))
    return 0;
  return (user + nice + system + irq + softirq + steal) / sysconf(_SC_CLK_TCK);
}

/// CPU seconds used by waited-for child processes (the demos) so far.
double children_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  auto s = [](timeval t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

bool have_gnuplot() {
  return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

} // namespace

TEST_CASE("dependency_graph: step_three(step_two(step_one())) is 43") {
  auto r = run(std::string{DEPENDENCY_GRAPH_DEMO} + " --fast");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(contains(r.output, "step_three(step_two(step_one())) = 43"));
  CHECK(after(r.output, "result: ") == "43");
  CHECK(contains(r.output, "= 40 + 60 = 100"));
}

TEST_CASE("parallel_files: files overlap") {
  // Sleeping tasks overlap even on a busy machine: expect most of the CPUs.
  // Under a heavy load from other processes, though, every 50 ms sleep
  // wakes late (the sequential loop itself slows down by half): a run that
  // falls short may be repeated, twice at most, as for Monte Carlo below.
  // Every run must exit 0 (its record counts agree).
  double best = 0, best_frac = 0, cpus = 0, least_others = 1e300;
  const double hw = std::max(1u, std::thread::hardware_concurrency());
  auto enough = [&] {
    return best > 0.75 * std::min(8.0, cpus) && best_frac > 0.75 * std::min(8.0, 4 * cpus);
  };
  for (int attempt = 0; attempt < 3 && (attempt == 0 || !enough()); ++attempt) {
    double busy0 = machine_busy_s(), own0 = children_cpu_s();
    auto t0 = std::chrono::steady_clock::now();
    auto r = run(std::string{PARALLEL_FILES_DEMO} + " --fast");
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    least_others = std::min(least_others,
                            ((machine_busy_s() - busy0) - (children_cpu_s() - own0)) / (wall * hw));
    INFO(r.output);
    REQUIRE(r.status == 0);
    cpus = cpus_in(r.output);
    auto line = after(r.output, "speedup: ");
    best = std::max(best, std::stod(line));
    best_frac = std::max(best_frac, std::stod(line.substr(line.find(", ") + 2)));
  }
  if (!enough() && least_others > 0.10) {
    MESSAGE("machine busy: other processes held "
            << 100 * least_others << "% of the CPUs; parallel_files speedups " << best << "x and "
            << best_frac << "x not checked");
    return;
  }
  CHECK(best > 0.75 * std::min(8.0, cpus));
  CHECK(best_frac > 0.75 * std::min(8.0, 4 * cpus));
}

TEST_CASE("pipelining_wait: results come in completion order") {
  auto r = run(std::string{PIPELINING_WAIT_DEMO} + " --fast");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(contains(r.output, "processed in completion order: yes"));
  CHECK(contains(r.output, "(submission order: no)"));
  CHECK(std::stod(after(r.output, "wait(refs, 1) pipeline: ")) > 0);
  CHECK(contains(r.output, "as_completed: 10 results, in completion order: yes"));
  CHECK(std::stod(after(r.output, "as_completed pipeline:  ")) > 0);
}

TEST_CASE("fault_tolerance: retries hide a transient failure, not a permanent one") {
  auto r = run(std::string{FAULT_TOLERANCE_DEMO} + " --fast");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(contains(r.output, "fetch_with_outage(4) = 40: succeeded after 3 attempts"));
  CHECK(contains(r.output, "without retry_exceptions: failed after 1 attempt"));
  CHECK(contains(r.output, "parse_corrupt_record(17) failed for good after 3 attempts"));
  CHECK(after(r.output, "type_name: ") == "std::invalid_argument");
  CHECK(after(r.output, "message:   ") == "record 17 has a bad checksum");
  CHECK(after(r.output, "task_name: ") == "parse_corrupt_record");
}

TEST_CASE("monte_carlo_pi --nodes: the same estimate on local clusters of 1 and 2 nodes") {
  // Real node processes on 127.0.0.1. Two nodes on a shared 2-core machine
  // say little about speed, so this checks the results, not the timing.
  auto r = run(std::string{MONTE_CARLO_PI_DEMO} + " --nodes=1,2 --samples=20000000");
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (std::string k : {"1 ", "2 "}) {
    auto row = after(r.output, k);
    REQUIRE(!row.empty());
    CHECK(std::abs(std::stod(row) - std::numbers::pi) < 0.001);
    CHECK(contains(row, "%"));
  }
  auto bad = run(std::string{MONTE_CARLO_PI_DEMO} + " --nodes=0");
  CHECK(bad.status == 2);
  CHECK(contains(bad.output, "--nodes"));
}

TEST_CASE("monte_carlo_pi: estimate, speedup and plot") {
  auto dir = std::filesystem::temp_directory_path()
             / ("manta_demos_test_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  // The speedup is a timing on a shared machine. Each run measures how much
  // CPU other processes (and the hypervisor) took meanwhile; a run that they
  // disturbed may be repeated, twice at most. Every run must be correct.
  double best_speedup = 0, least_others = 1e300;
  double cpus = 0;
  const double hw = std::max(1u, std::thread::hardware_concurrency());
  for (int attempt = 0; attempt < 3 && best_speedup <= 1.3; ++attempt) {
    double busy0 = machine_busy_s(), own0 = children_cpu_s();
    auto t0 = std::chrono::steady_clock::now();
    auto r = run(std::string{MONTE_CARLO_PI_DEMO} + " --fast --out=" + dir.string());
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double others = ((machine_busy_s() - busy0) - (children_cpu_s() - own0)) / (wall * hw);
    least_others = std::min(least_others, others);
    INFO(r.output);
    REQUIRE(r.status == 0);
    cpus = cpus_in(r.output);
    auto row = after(r.output, "10000000 ");
    REQUIRE(!row.empty());
    double estimate = std::stod(row);
    CHECK(std::abs(estimate - std::numbers::pi) < 0.01);
    auto last = after(r.output, "speedup on 5000000 samples: ");
    REQUIRE(!last.empty());
    best_speedup = std::max(best_speedup, std::stod(last));
    if (have_gnuplot()) {
      CHECK(contains(r.output, "plot: "));
      CHECK(std::filesystem::exists(dir / "monte_carlo_pi.png"));
      CHECK(std::filesystem::file_size(dir / "monte_carlo_pi.png") > 10'000);
    }
    CHECK(std::filesystem::exists(dir / "monte_carlo_pi.dat"));
  }
  std::filesystem::remove_all(dir);
  if (cpus < 2)
    return;
  INFO("Manta's best speedup " << best_speedup << " on " << cpus
                               << " CPUs; other "
                                  "processes held at least "
                               << 100 * least_others << "% of the machine");
  if (best_speedup <= 1.3 && least_others > 0.10) {
    // Other jobs held the CPUs in every run: the timing says nothing about
    // Manta. Say so instead of failing.
    MESSAGE("machine busy: other processes held " << 100 * least_others << "% of the CPUs; speedup "
                                                  << best_speedup << "x not checked");
    return;
  }
  MESSAGE("Monte Carlo speedup " << best_speedup << "x on " << cpus << " CPUs");
  CHECK(best_speedup > 1.3);
}

TEST_CASE("model_server: the model loads once, metrics count every request") {
  auto r = run(std::string{MODEL_SERVER_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(contains(r.output, "model loads by the actor: 1 for 20 requests"));
  CHECK(contains(r.output, "predictions correct: 20 of 20"));
  CHECK(contains(r.output, "(3 model loads)"));
  auto metrics = after(r.output, "get_metrics: requests: ");
  REQUIRE(!metrics.empty());
  CHECK(std::stol(metrics) == 20);
  // --fast: 5 ms per prediction, measured inside the actor around a sleep.
  double latency_ms = std::stod(metrics.substr(metrics.find("average latency: ") + 17));
  CHECK(latency_ms >= 5.0);
  CHECK(latency_ms < 100.0);
  // A stateless task reloads the 0.2 s model every time; the actor does not.
  auto per = after(r.output, "per request: actor ");
  double actor_ms = std::stod(per);
  double task_ms = std::stod(per.substr(per.find("stateless task ") + 15));
  CHECK(task_ms > 200.0);
  CHECK(task_ms > 2 * actor_ms);
}

TEST_CASE("async_actor: three 1 s fetches on one async actor take about 1 s") {
  auto r = run(std::string{ASYNC_ACTOR_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  double async_s = std::stod(after(r.output, "async actor:   3 fetches in "));
  double blocking_s = std::stod(after(r.output, "regular actor: 3 fetches in "));
  // No fetch can end before its 1 s wait; one after another they would take
  // 3 s. Waiting needs no CPU, so even a loaded machine stays well below 2 s.
  CHECK(async_s >= 0.99);
  CHECK(async_s < 2.0);
  CHECK(blocking_s >= 2.99);
}

TEST_CASE("large_object: ten tasks read one stored copy of the array") {
  auto r = run(std::string{LARGE_OBJECT_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(contains(r.output, "results match a sequential count: 10 of 10"));
  CHECK(contains(r.output, "buffers the tasks read: 1 (all of them the store's copy)"));
  auto growth = after(r.output, "RSS increase: ");
  REQUIRE(!growth.empty());
  double rss_mb = std::stod(growth);
  double array_mb = std::stod(growth.substr(growth.find("for a ") + 6));
  CHECK(array_mb == doctest::Approx(80.0));
  // The array is resident once (it is written, so it must be), never twice.
  CHECK(rss_mb > 0.9 * array_mb);
  CHECK(rss_mb < 1.5 * array_mb);
  double store_mb = std::stod(after(r.output, "object store holds: "));
  CHECK(store_mb >= array_mb);
  CHECK(store_mb < array_mb + 1.0);
}

TEST_CASE("worker_pool: 12 items over 3 workers, by hand and with actor_pool") {
  auto r = run(std::string{WORKER_POOL_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto round_robin = r.output.substr(0, r.output.find("actor_pool.map:"));
  for (int id = 0; id < 3; ++id)
    CHECK(contains(round_robin, "worker " + std::to_string(id) + " processed 4 items"));
  CHECK(contains(r.output, "round robin per-worker counts total: 12"));
  CHECK(contains(r.output, "actor_pool per-worker counts total: 12"));
  CHECK(contains(r.output, "items processed: 12 by hand, 12 by actor_pool; results correct"));
  CHECK(!contains(r.output, "MISMATCH"));
  // The pool hands the first three items to three different idle workers.
  CHECK(std::stoi(after(r.output, "fewest items on one worker with actor_pool: ")) >= 1);
}

TEST_CASE("data_pipeline: bounded in flight, same result as sequential") {
  auto r = run(std::string{DATA_PIPELINE_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(contains(r.output, "matches the sequential computation: yes"));
  auto flight = after(r.output, "max chains in flight: ");
  REQUIRE(!flight.empty());
  int max_in_flight = std::stoi(flight);
  int limit = std::stoi(flight.substr(flight.find("(limit ") + 7));
  CHECK(max_in_flight == limit); // 48 chunks fill the window
  // Each chain in flight holds at most its loaded and its transformed chunk.
  auto peak = after(r.output, "store peak: ");
  double chunks_held = std::stod(peak.substr(peak.find("(") + 1));
  CHECK(chunks_held <= 2 * limit + 1);
}

TEST_CASE("parameter_server: the loss falls every round to the noise floor") {
  auto r = run(std::string{PARAMETER_SERVER_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(contains(r.output, "rounds applied by the server: 20"));
  CHECK(contains(r.output, "loss decreased in 19 of 19 rounds"));
  double initial = std::stod(after(r.output, "initial loss: "));
  double final_loss = std::stod(after(r.output, "final loss: "));
  CHECK(initial > 1.0);
  // The noise variance is 0.01: the loss cannot go lower, and must get close.
  CHECK(final_loss > 0.005);
  CHECK(final_loss < 0.02);
}

TEST_CASE("monitoring: the seeded streams raise the same alerts as a replay") {
  auto r = run(std::string{MONITORING_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(contains(r.output, "samples received: 180 of 180 sent, 0 out of order"));
  int raised = std::stoi(after(r.output, "alerts raised: "));
  int expected = std::stoi(after(r.output, "expected by a sequential replay: "));
  CHECK(raised == expected);
  // Fixed seeds and a platform-independent generator: always these alerts.
  CHECK(raised == 17);
  CHECK(contains(r.output, "alert counts: latency 5, cpu 1, errors 11"));
}

TEST_CASE("perf_debugging: the fixed version is much faster, same result") {
  auto r = run(std::string{PERF_DEBUGGING_DEMO} + " --fast");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(contains(r.output, "results identical: yes"));
  double speedup = std::stod(after(r.output, "speedup: "));
  MESSAGE("perf_debugging speedup " << speedup << "x");
  // Typically 50-200x; 400 table copies and round trips against 8 tasks
  // leave a wide margin even on a loaded machine.
  CHECK(speedup > 5.0);
}

TEST_CASE("tour: every demo runs and passes") {
  // Monte Carlo writes its data file to the working directory.
  auto dir = std::filesystem::temp_directory_path()
             / ("manta_tour_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto r = run("cd " + dir.string() + " && " + std::string{TOUR_DEMO} + " --fast");
  std::filesystem::remove_all(dir);
  INFO(r.output);
  CHECK(r.status == 0);
  auto table = r.output.substr(std::min(r.output.size(), r.output.find("==== tour summary")));
  for (const char* d :
       {"parallel_files", "dependency_graph", "model_server", "async_actor", "large_object",
        "pipelining_wait", "worker_pool", "monte_carlo_pi", "data_pipeline", "parameter_server",
        "monitoring", "perf_debugging", "fault_tolerance"}) {
    auto row = line_with(table, std::string{" "} + d + " ");
    CHECK_MESSAGE(contains(row, " ok "), d << ": " << row);
  }
  CHECK(contains(r.output, "demos passed: 13 of 13"));
}

TEST_CASE("sim_service_fleet: a partition raises the tail latency, the same for the same seed") {
  auto strip = [](std::string out) { // the real time is the one figure that may differ
    auto at = out.find(" real=");
    return at == std::string::npos ? out : out.erase(at, out.find(' ', at + 1) - at);
  };
  auto one = run(std::string{SIM_SERVICE_FLEET_DEMO} + " --seed=3");
  auto two = run(std::string{SIM_SERVICE_FLEET_DEMO} + " --seed=3");
  INFO(one.output);
  REQUIRE(one.status == 0);
  CHECK(strip(one.output) == strip(two.output));
  CHECK(contains(one.output, "external=0 "));
  // Columns: requests, p50, p99, p999 (ms).
  auto row = [&](const std::string& phase) {
    std::istringstream in{after(one.output, phase)};
    double n = 0, p50 = 0, p99 = 0, p999 = 0;
    in >> n >> p50 >> p99 >> p999;
    return std::array<double, 4>{n, p50, p99, p999};
  };
  auto before = row("before (0-1 s)");
  auto during = row("during (1-2 s)");
  auto after_ = row("after (2-3 s)");
  for (auto& r : {before, during, after_})
    CHECK(r[0] > 1000);
  // Calls to the cut-off backends wait for the balancers' 30 ms timeout.
  CHECK(during[2] > before[2]);
  CHECK(during[2] >= 30.0);
  CHECK(after_[2] < during[2]);
  CHECK(std::stol(after(one.output, "load balancer timeouts: ")) > 0);
}
