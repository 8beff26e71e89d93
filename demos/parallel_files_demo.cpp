/// Processing files in parallel: each simulated file takes half a second of
/// I/O-bound work (a sleep). One task per file turns the sequential loop into
/// as many concurrent reads as the node has CPUs, and tasks that mostly wait
/// can ask for a fraction of a CPU so that more of them overlap.
///
///   parallel_files_demo [--fast] [--num-cpus=N]

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

/// "Reads" a file for `ms` milliseconds and returns its number of records.
size_t process_file(std::string name, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  return name.size() * 1000; // a stand-in for what parsing would count
}
MANTA_REMOTE(process_file);

namespace {

/// Runs all files as tasks holding `cpus` each; returns the seconds taken.
double run_parallel(const std::vector<std::string>& files, int ms, double cpus, size_t& records) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<manta::object_ref<size_t>> refs;
  for (auto& f : files)
    refs.push_back(manta::task(process_file).num_cpus(cpus).remote(f, ms));
  records = 0;
  for (size_t n : manta::get(refs))
    records += n;
  return seconds_since(t0);
}

} // namespace

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const int file_ms = fast ? 50 : 500;
  const double cpus = manta::cluster_resources()["CPU"];
  std::vector<std::string> files;
  for (int i = 0; i < 8; ++i)
    files.push_back("data_" + std::to_string(i) + ".csv");
  std::printf("%zu files of %d ms each, %g CPUs\n\n", files.size(), file_ms, cpus);

  // Sequential: one file after another on the driver thread.
  auto t0 = std::chrono::steady_clock::now();
  size_t seq_records = 0;
  for (auto& f : files)
    seq_records += process_file(f, file_ms);
  double seq_s = seconds_since(t0);
  std::printf("sequential:                 %6.3f s  (%zu records)\n", seq_s, seq_records);

  // One task per file, one CPU each: as many files at once as there are CPUs.
  size_t par_records = 0;
  double par_s = run_parallel(files, file_ms, 1.0, par_records);
  double slots = std::min<double>(files.size(), cpus);
  double speedup = seq_s / par_s;
  std::printf("parallel, 1 CPU per file:   %6.3f s  (%zu records)  speedup %.2fx, "
              "efficiency %.0f%% of %g concurrent files\n",
              par_s, par_records, speedup, 100.0 * speedup / slots, slots);

  // The work only waits, so a quarter CPU per file is honest: 4x as many
  // files run at once on the same CPUs.
  size_t frac_records = 0;
  double frac_s = run_parallel(files, file_ms, 0.25, frac_records);
  double frac_slots = std::min<double>(files.size(), cpus * 4);
  double frac_speedup = seq_s / frac_s;
  std::printf("parallel, 0.25 CPU per file: %5.3f s  (%zu records)  speedup %.2fx, "
              "efficiency %.0f%% of %g concurrent files\n",
              frac_s, frac_records, frac_speedup, 100.0 * frac_speedup / frac_slots, frac_slots);

  manta::shutdown();
  std::printf("\nspeedup: %.2fx with 1 CPU per file, %.2fx with 0.25 CPU per file\n", speedup,
              frac_speedup);
  return seq_records == par_records && seq_records == frac_records ? 0 : 1;
}
