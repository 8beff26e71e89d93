// The recursive fork-join at several depths, with the cost per task and
// the most OS threads the process had while it ran (sampled from
// /proc/self/status): a task blocked in `get` must not cost a thread per
// level (issue 25, item 3; docs/performance.md, "Nested tasks").
//
//   build/tools/fork_join_threads [--depths=6,10,12,14] [--rounds=N] [--num-cpus=N]

#include "tools/fork_join_task.hpp"

#include <manta/manta.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using manta_tools::fork_join;
using manta_tools::threads_now;

/// Samples the thread count every 200 us while it lives; keeps the peak.
class thread_sampler {
public:
  thread_sampler()
    : worker_([this] {
        while (!stop_.load()) {
          peak_ = std::max(peak_.load(), threads_now());
          std::this_thread::sleep_for(std::chrono::microseconds{200});
        }
      }) {}
  int finish() {
    stop_ = true;
    worker_.join();
    return peak_.load() - 1; // less the sampler itself
  }

private:
  std::atomic<bool> stop_{false};
  std::atomic<int> peak_{0};
  std::thread worker_;
};

} // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  std::vector<int> depths;
  std::string depth_list;
  int rounds = 3;
  po::options_description opts{"fork_join_threads"};
  opts.add_options()("help,h", "this text")(
    "depths", po::value(&depth_list)->default_value("6,10,12,14"), "comma-separated depths (1-18)")(
    "rounds", po::value(&rounds)->default_value(3), "runs per depth (1-50); the median is printed")(
    "num-cpus", po::value<double>(), "Manta's CPUs (manta::init)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).allow_unregistered().run(), vm);
    po::notify(vm);
    for (size_t at = 0; at < depth_list.size();) {
      auto comma = depth_list.find(',', at);
      auto item = depth_list.substr(at, comma == std::string::npos ? comma : comma - at);
      int d = std::stoi(item);
      if (d < 1 || d > 18)
        throw std::invalid_argument("depth " + item + " is outside 1-18");
      depths.push_back(d);
      at = comma == std::string::npos ? depth_list.size() : comma + 1;
    }
    if (rounds < 1 || rounds > 50)
      throw std::invalid_argument("--rounds must be 1-50");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fork_join_threads: bad option: %s (see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  manta::init(argc, argv);
  std::printf("%-6s %8s %12s %13s\n", "depth", "tasks", "us/task", "peak threads");
  for (int d : depths) {
    long tasks = (1L << (d + 1)) - 1;
    std::vector<double> us;
    int peak = 0;
    for (int r = 0; r < rounds; ++r) {
      thread_sampler sampler;
      auto start = std::chrono::steady_clock::now();
      long got = manta::get(manta::task(fork_join).remote(d));
      auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      peak = std::max(peak, sampler.finish());
      if (got != tasks) {
        std::fprintf(stderr, "fork_join_threads: depth %d gave %ld, not %ld\n", d, got, tasks);
        return 1;
      }
      us.push_back(dt / static_cast<double>(tasks) * 1e6);
    }
    std::sort(us.begin(), us.end());
    std::printf("%-6d %8ld %12.2f %13d\n", d, tasks, us[us.size() / 2], peak);
    std::fflush(stdout);
  }
  manta::shutdown();
  return 0;
}
