// The simulator's own speed (docs/simulation.md, "Speed"): a simulated
// cluster of --nodes virtual nodes runs --tasks tasks of 1 ms virtual time
// each, submitted in waves of --wave, with one node killed and revived
// along the way. Prints the simulated events per second, the ratio of
// virtual to real time, and the memory the virtual nodes take.
//
//   sim_benchmark [--nodes=1000] [--tasks=1000000] [--wave=20000] [--seed=1]
//                 [--duration-us=1000]
//
// The virtual-to-real ratio depends on the workload: virtual time is the
// tasks' durations spread over the cluster's CPUs, real time the
// simulator's cost per event. Both the wall clock and this process's CPU
// time are shown (on a shared machine the wall clock also counts others'
// work).

#include <manta/manta.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

long step(long x) {
  return x + 1;
}
MANTA_REMOTE(step);

/// Resident memory of this process, in bytes.
size_t rss_bytes() {
  std::ifstream in{"/proc/self/statm"};
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

/// Starts a simulation of `nodes` nodes and returns the memory it added.
size_t init_cost(uint32_t nodes) {
  auto before = rss_bytes();
  manta::simulation_options s;
  s.nodes = nodes;
  s.print_summary = false;
  manta::init_options o;
  o.task_events = false;
  manta::init(o, s);
  auto after = rss_bytes();
  manta::shutdown();
  return after > before ? after - before : 0;
}

} // namespace

int main(int argc, char** argv) {
  uint64_t nodes = 1000, tasks = 1'000'000, wave = 20'000, seed = 1, duration_us = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    auto num = [&](std::string_view flag, uint64_t& out) {
      if (a.substr(0, flag.size()) != flag)
        return false;
      out = std::strtoull(std::string{a.substr(flag.size())}.c_str(), nullptr, 10);
      return true;
    };
    if (!num("--nodes=", nodes) && !num("--tasks=", tasks) && !num("--wave=", wave)
        && !num("--seed=", seed) && !num("--duration-us=", duration_us)) {
      std::fprintf(stderr, "usage: sim_benchmark [--nodes=N] [--tasks=N] [--wave=N] [--seed=N] "
                           "[--duration-us=N]\n");
      return 2;
    }
  }
  if (nodes < 2 || wave == 0) {
    std::fprintf(stderr, "sim_benchmark: --nodes must be at least 2 and --wave at least 1\n");
    return 2;
  }
  // Memory of the nodes: a simulation of 1 node against one of `nodes`
  // (the runtime's own memory is in both).
  init_cost(1); // warms the allocator and the runtime's statics
  auto one = init_cost(1);
  auto many = init_cost(static_cast<uint32_t>(nodes));

  manta::simulation_options s;
  s.seed = seed;
  s.nodes = static_cast<uint32_t>(nodes);
  s.cpus_per_node = 2;
  s.task_duration = std::chrono::microseconds{duration_us};
  s.print_summary = false;
  manta::sim_fault kill;
  kill.at = 5ms;
  kill.node = 1;
  manta::sim_fault revive = kill;
  revive.at = 50ms;
  revive.what = manta::sim_fault::kind::revive;
  s.faults = {kill, revive};
  manta::init_options o;
  o.task_events = false;
  auto rss_before = rss_bytes();
  manta::init(o, s);
  auto start = std::chrono::steady_clock::now();
  auto cpu_start = std::clock();
  long check = 0;
  for (uint64_t done = 0; done < tasks; done += wave) {
    auto n = std::min(wave, tasks - done);
    std::vector<manta::object_ref<long>> refs;
    refs.reserve(n);
    for (uint64_t i = 0; i < n; ++i)
      refs.push_back(manta::task(step).max_retries(3).remote(static_cast<long>(i)));
    for (auto& r : refs)
      check += manta::get(r);
  }
  double real = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  auto peak = rss_bytes();
  auto sum = manta::sim::summary();
  manta::shutdown();
  long want = 0;
  for (uint64_t done = 0; done < tasks; done += wave) {
    auto n = static_cast<long>(std::min(wave, tasks - done));
    want += n * (n + 1) / 2;
  }
  double virt = static_cast<double>(sum.virtual_time.count()) / 1e9;
  std::printf("nodes                     %llu\n", static_cast<unsigned long long>(nodes));
  std::printf("tasks                     %llu (%s)\n", static_cast<unsigned long long>(tasks),
              check == want ? "all results right" : "WRONG RESULTS");
  std::printf("events                    %llu\n", static_cast<unsigned long long>(sum.events));
  std::printf("task duration             %llu us\n", static_cast<unsigned long long>(duration_us));
  std::printf("real time                 %.3f s (CPU %.3f s)\n", real, cpu);
  std::printf("simulated events/s        %.0f (per CPU second %.0f)\n",
              static_cast<double>(sum.events) / real, static_cast<double>(sum.events) / cpu);
  std::printf("tasks/s                   %.0f\n", static_cast<double>(tasks) / real);
  std::printf("virtual time              %.3f s\n", virt);
  std::printf("virtual/real              %.2f (virtual/CPU %.2f)\n", virt / real, virt / cpu);
  std::printf("tasks lost (node killed)  %llu\n", static_cast<unsigned long long>(sum.tasks_lost));
  std::printf("memory, %llu nodes vs 1    %.1f KiB (%.0f bytes per node)\n",
              static_cast<unsigned long long>(nodes),
              static_cast<double>(many > one ? many - one : 0) / 1024,
              static_cast<double>(many > one ? many - one : 0) / static_cast<double>(nodes));
  std::printf("memory growth in the run  %.1f MiB (a wave of %llu tasks in flight)\n",
              static_cast<double>(peak > rss_before ? peak - rss_before : 0) / (1 << 20),
              static_cast<unsigned long long>(wave));
  std::printf("trace hash                %016llx\n",
              static_cast<unsigned long long>(sum.trace_hash));
  return check == want ? 0 : 1;
}
