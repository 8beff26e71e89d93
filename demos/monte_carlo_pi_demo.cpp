/// Monte Carlo estimation of pi: sequential C++ against Manta tasks.
///
/// Throw n random points into the unit square; the share that lands inside
/// the quarter circle tends to pi/4. The samples are split into batches, one
/// task each, so the node's CPUs count them in parallel (the Ray Core
/// tutorial "Monte Carlo Estimation of pi", in C++).
///
///   monte_carlo_pi_demo [--fast] [--num-cpus=N] [--out=DIR]
///   monte_carlo_pi_demo --nodes=1,2,4,8 [--samples=N]
///
/// The sizes run in milliseconds already, so --fast keeps them and cuts the
/// number of timing runs and the tutorial's 100-million-sample run. --out
/// names the folder for monte_carlo_pi.dat and, with gnuplot, the plot
/// monte_carlo_pi.png.
///
/// --nodes runs the scaling experiment instead: for each count k it starts a
/// local cluster of k worker nodes with one CPU each (child processes of this
/// program, `manta::local_cluster`), estimates pi from the same samples as
/// 4k tasks from a driver with no CPUs of its own, and prints the time, the
/// speedup over the first count (one node, usually) and the efficiency.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <vector>

/// Counts which of the samples [first, first + count) fall inside the
/// quarter circle. Sample i is drawn from splitmix64 on counter i: a
/// counter-based generator lets every batch seed itself at its first index,
/// so any split of 0..n gives exactly the same points as one sequential loop
/// (the sequential and parallel estimates agree to the last bit), and the
/// iterations are independent, which keeps the CPU's pipelines full.
uint64_t count_inside(uint64_t first, uint64_t count) {
  uint64_t inside = 0;
  for (uint64_t i = first; i < first + count; ++i) {
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    // Two 31-bit coordinates: x^2 + y^2 stays below 2^63, exact in integers.
    uint64_t x = z >> 33, y = z & 0x7FFFFFFFull;
    inside += (x * x + y * y) < (uint64_t{1} << 62);
  }
  return inside;
}
MANTA_REMOTE(count_inside);

/// Estimates pi from n samples split into `batches` tasks.
double estimate_pi(uint64_t n, uint64_t batches) {
  std::vector<manta::object_ref<uint64_t>> refs;
  for (uint64_t b = 0; b < batches; ++b) {
    uint64_t first = n * b / batches, last = n * (b + 1) / batches;
    refs.push_back(manta::task(count_inside).remote(first, last - first));
  }
  uint64_t inside = 0;
  for (uint64_t v : manta::get(refs))
    inside += v;
  return 4.0 * static_cast<double>(inside) / static_cast<double>(n);
}

/// The same estimate in one plain loop on the calling thread.
double estimate_pi_sequential(uint64_t n) {
  return 4.0 * static_cast<double>(count_inside(0, n)) / static_cast<double>(n);
}

namespace {

/// Times the sequential loop and the Manta tasks on n samples, alternating
/// the two, at least `min_runs` times each and for at least `min_seconds`
/// together. The machine is shared: alternating lets both sides meet the
/// same disturbances, and the best run of each is the one least disturbed.
struct timing {
  double estimate = 0;
  double seq_s = 1e300, manta_s = 1e300;
  std::vector<double> manta_runs;
};

timing time_both(uint64_t n, uint64_t batches, int min_runs, double min_seconds) {
  timing t;
  auto begin = clock_type::now();
  for (int run = 0; run < min_runs || seconds_since(begin) < min_seconds; ++run) {
    auto t0 = clock_type::now();
    double seq_est = estimate_pi_sequential(n);
    t.seq_s = std::min(t.seq_s, seconds_since(t0));
    t0 = clock_type::now();
    t.estimate = estimate_pi(n, batches);
    t.manta_runs.push_back(seconds_since(t0));
    t.manta_s = std::min(t.manta_s, t.manta_runs.back());
    if (seq_est != t.estimate) {
      std::printf("BUG: sequential %.9f != manta %.9f on %llu samples\n", seq_est, t.estimate,
                  static_cast<unsigned long long>(n));
      std::exit(1);
    }
    if (run > 1000)
      break;
  }
  return t;
}

struct summary_row {
  uint64_t samples;
  double estimate, seq_s, manta_s;
};

struct convergence_row {
  uint64_t samples;
  double estimate, error;
};

std::string flag_value(int argc, char** argv, std::string_view flag, std::string fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    if (a.size() > flag.size() && a.substr(0, flag.size()) == flag && a[flag.size()] == '=')
      return std::string{a.substr(flag.size() + 1)};
  }
  return fallback;
}

bool has_flag(int argc, char** argv, std::string_view flag) {
  return std::any_of(argv + 1, argv + argc, [&](const char* a) { return flag == a; });
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

/// Writes both tables in gnuplot's format: blocks separated by two blank
/// lines are `index 0` (timings) and `index 1` (convergence).
void write_data(const std::filesystem::path& file, const std::vector<summary_row>& rows,
                const std::vector<convergence_row>& conv, double cpus) {
  std::ofstream out{file};
  out << "# Monte Carlo pi, " << cpus << " CPUs\n"
      << "# samples estimate seq_s manta_s speedup seq_samples_per_s "
         "manta_samples_per_s\n";
  for (auto& r : rows)
    out << r.samples << ' ' << r.estimate << ' ' << r.seq_s << ' ' << r.manta_s << ' '
        << r.seq_s / r.manta_s << ' ' << r.samples / r.seq_s << ' ' << r.samples / r.manta_s
        << '\n';
  out << "\n\n# samples estimate abs_error inv_sqrt_n\n";
  for (auto& c : conv)
    out << c.samples << ' ' << c.estimate << ' ' << c.error << ' '
        << 1.0 / std::sqrt(static_cast<double>(c.samples)) << '\n';
}

/// Runs demos/plot_monte_carlo.gp if gnuplot is installed; returns the PNG's
/// path, or an empty path (with the reason printed) when there is none.
std::filesystem::path plot(const std::filesystem::path& data, const std::filesystem::path& png,
                           double cpus) {
  std::filesystem::path script = std::filesystem::path{MANTA_DEMOS_DIR} / "plot_monte_carlo.gp";
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::printf("gnuplot not found on PATH: no plot (data in %s)\n", data.c_str());
    return {};
  }
  if (!std::filesystem::exists(script)) {
    std::printf("plot script %s is missing: no plot\n", script.c_str());
    return {};
  }
  std::string cmd = "gnuplot -e "
                    + shell_quote("datafile='" + data.string() + "'; outfile='" + png.string()
                                  + "'; cpus=" + std::to_string(cpus))
                    + " " + shell_quote(script.string());
  if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(png)) {
    std::printf("gnuplot failed: no plot\n");
    return {};
  }
  return png;
}

/// The --nodes experiment: the same estimate on local clusters of growing
/// size, each node a process with one CPU.
int scaling_main(const std::string& nodes, uint64_t samples) {
  if (samples < 1000) {
    std::fprintf(stderr, "--samples: give at least 1000 samples\n");
    return 2;
  }
  std::vector<int> counts;
  for (size_t pos = 0; pos < nodes.size();) {
    auto end = nodes.find(',', pos);
    int k = std::atoi(nodes.substr(pos, end - pos).c_str());
    if (k <= 0 || k > 64) {
      std::fprintf(stderr,
                   "--nodes: '%s' is not a list of node counts from 1 to 64 "
                   "(e.g. --nodes=1,2,4,8)\n",
                   nodes.c_str());
      return 2;
    }
    counts.push_back(k);
    pos = end == std::string::npos ? nodes.size() : end + 1;
  }
  std::printf("Monte Carlo pi on local clusters: %llu samples, 4 tasks per node, "
              "1 CPU per node, best of 3 runs (this machine has %u cores)\n\n",
              static_cast<unsigned long long>(samples), std::thread::hardware_concurrency());
  std::printf("%6s  %10s  %10s  %8s  %10s\n", "nodes", "estimate", "time", "speedup", "efficiency");
  double one_node_s = 0;
  for (int k : counts) {
    manta::local_cluster cluster;
    for (int i = 0; i < k; ++i)
      cluster.add_worker(1);
    cluster.join(0); // the driver only submits and gathers
    auto batches = static_cast<uint64_t>(4 * k);
    estimate_pi(samples / 10, batches); // warm up the nodes' threads
    double best = 1e300, est = 0;
    for (int run = 0; run < 3; ++run) {
      auto t0 = clock_type::now();
      est = estimate_pi(samples, batches);
      best = std::min(best, seconds_since(t0));
    }
    if (one_node_s == 0)
      one_node_s = best;
    double speedup = one_node_s / best; // over the first row
    std::printf("%6d  %10.6f  %7.3f s  %7.2fx  %9.0f%%\n", k, est, best, speedup,
                100.0 * speedup * counts.front() / k);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (auto nodes = flag_value(argc, argv, "--nodes", "");
      !nodes.empty() && !manta::is_cluster_process(argc, argv))
    return scaling_main(
      nodes, std::strtoull(flag_value(argc, argv, "--samples", "400000000").c_str(), nullptr, 10));
  manta::init(argc, argv); // --num-cpus=N; default: the hardware's cores
  const bool fast = has_flag(argc, argv, "--fast");
  const std::filesystem::path out_dir = flag_value(argc, argv, "--out", ".");
  const double cpus = manta::cluster_resources()["CPU"];
  /// A few batches per CPU: with exactly one, a CPU that another process
  /// holds up for a moment delays the whole estimate; with many, the
  /// per-task cost starts to show on the small sizes.
  const uint64_t batches = static_cast<uint64_t>(std::max(1.0, std::ceil(cpus))) * 4;
  const int min_runs = fast ? 5 : 10;
  const double min_seconds = fast ? 0.25 : 0.75; // per size, both sides together

  std::printf("Monte Carlo pi: %g CPUs, %llu tasks per estimate, best of at least "
              "%d runs\n\n",
              cpus, static_cast<unsigned long long>(batches), min_runs);

  // Warm up: the first tasks start the pool's threads and fault in pages.
  for (int i = 0; i < 3; ++i)
    estimate_pi(1'000'000, batches);

  // -- (a) sequential against Manta ------------------------------------------
  std::vector<uint64_t> sizes{100'000, 500'000, 1'000'000, 5'000'000, 10'000'000};
  std::vector<summary_row> rows;
  std::vector<double> manta_runs; // every timed Manta run, for the average
  uint64_t manta_samples = 0;
  std::printf("%12s  %10s  %12s  %12s  %8s  %5s\n", "samples", "estimate", "sequential", "manta",
              "speedup", "runs");
  for (uint64_t n : sizes) {
    auto t = time_both(n, batches, min_runs, min_seconds);
    manta_runs.insert(manta_runs.end(), t.manta_runs.begin(), t.manta_runs.end());
    manta_samples += n * t.manta_runs.size();
    rows.push_back({n, t.estimate, t.seq_s, t.manta_s});
    std::printf("%12llu  %10.6f  %9.3f ms  %9.3f ms  %7.2fx  %5zu\n",
                static_cast<unsigned long long>(n), t.estimate, t.seq_s * 1e3, t.manta_s * 1e3,
                t.seq_s / t.manta_s, t.manta_runs.size());
  }

  // -- (b) convergence ---------------------------------------------------------
  std::printf("\nconvergence (error shrinks like 1/sqrt(n); one sigma is "
              "sqrt(pi(4-pi)/n) = 1.64/sqrt(n)):\n");
  std::printf("%12s  %10s  %10s  %10s\n", "samples", "estimate", "|error|", "1/sqrt(n)");
  std::vector<convergence_row> conv;
  for (uint64_t decade = 10'000; decade <= 10'000'000; decade *= 10) {
    for (uint64_t m : {1, 2, 5}) {
      uint64_t n = decade * m;
      if (n > 10'000'000)
        break;
      double est = estimate_pi(n, batches);
      double err = std::abs(est - std::numbers::pi);
      conv.push_back({n, est, err});
      std::printf("%12llu  %10.6f  %10.2e  %10.2e\n", static_cast<unsigned long long>(n), est, err,
                  1.0 / std::sqrt(static_cast<double>(n)));
    }
  }

  // -- (c) throughput ----------------------------------------------------------
  double peak = 0, seq_peak = 0;
  for (auto& r : rows) {
    peak = std::max(peak, r.samples / r.manta_s);
    seq_peak = std::max(seq_peak, r.samples / r.seq_s);
  }
  double total_s = 0;
  for (double s : manta_runs)
    total_s += s;
  double average = static_cast<double>(manta_samples) / total_s;
  std::printf("\nthroughput with Manta: peak %.1f M samples/s (%.1f M per CPU), "
              "average %.1f M samples/s over all %zu timed runs\n",
              peak / 1e6, peak / 1e6 / std::max(1.0, cpus), average / 1e6, manta_runs.size());
  std::printf("throughput of the sequential loop: peak %.1f M samples/s on one core\n",
              seq_peak / 1e6);

  // -- (d) the tutorial's run and the plot -------------------------------------
  if (!fast) {
    // Ray's tutorial: 10 tasks of 10 million samples each.
    auto t0 = clock_type::now();
    double est = estimate_pi(100'000'000, 10);
    double s = seconds_since(t0);
    std::printf("Ray tutorial's run, 10 tasks x 10,000,000 samples: pi ~ %.6f "
                "(error %.1e) in %.3f s\n",
                est, std::abs(est - std::numbers::pi), s);
  }
  std::filesystem::create_directories(out_dir);
  auto data = out_dir / "monte_carlo_pi.dat";
  write_data(data, rows, conv, cpus);
  if (auto png = plot(data, out_dir / "monte_carlo_pi.png", cpus); !png.empty())
    std::printf("plot: %s\n", png.c_str());

  manta::shutdown();
  auto& big = rows[3]; // 5,000,000 samples
  std::printf("speedup on %llu samples: %.2fx (%g CPUs)\n",
              static_cast<unsigned long long>(big.samples), big.seq_s / big.manta_s, cpus);
  return 0;
}
