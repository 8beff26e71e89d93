// A cluster of many worker processes on this machine (issue 25 item 8), as
// printed figures beside their floors measured in the same run:
//   - join: a head and `--workers` single-CPU worker processes started at
//     once until the driver sees every CPU, against starting the same number
//     of processes of this program that exit before touching the runtime
//     (what process start and loading the libraries cost on this machine);
//   - idle: the CPU an idle cluster burns (heartbeats, timers) over
//     `--idle-seconds`, per process and in all, from the kernel's counters;
//   - memory: the resident set of the head, of each worker and of the driver;
//   - cost per task: n no-op tasks submitted at once over the workers and
//     gotten, for n = 1,000, 10,000, ... up to `--max-tasks`, interleaved for
//     `--rounds` rounds; medians, and each size against the 1,000 figure
//     (flat is 1.00).
//
//   cluster_scale [--workers=32] [--idle-seconds=10] [--max-tasks=1000000]
//                 [--rounds=3] [--transport=plain]

#include <manta/manta.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using steady = std::chrono::steady_clock;

int nothing(int x) {
  return x;
}
MANTA_REMOTE(nothing);

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

/// The flag a floor process gets: it exits at once, before the runtime.
constexpr const char* exit_flag = "--exit-before-runtime";

/// Seconds to start `n` processes of this program at once and reap them,
/// each exiting before it touches the runtime: the floor of a join.
double process_start_floor(const char* self, int n) {
  auto start = steady::now();
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    char* args[] = {const_cast<char*>(self), const_cast<char*>(exit_flag), nullptr};
    pid_t pid = 0;
    if (::posix_spawn(&pid, self, nullptr, nullptr, args, environ) == 0)
      pids.push_back(pid);
  }
  for (auto pid : pids)
    ::waitpid(pid, nullptr, 0);
  return static_cast<int>(pids.size()) == n ? seconds_since(start) : -1;
}

/// utime + stime of `pid` in clock ticks (fields 14 and 15 of
/// /proc/PID/stat, counted after the command name's closing parenthesis).
long cpu_ticks(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream fields{text.substr(close + 2)};
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14)
      utime = std::stol(field);
    if (i == 15)
      stime = std::stol(field);
  }
  return utime + stime;
}

/// Resident set of `pid` in MiB (/proc/PID/statm, second field, in pages).
double rss_mib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/statm"};
  long size = 0, resident = 0;
  if (!(in >> size >> resident))
    return -1;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE))
         / (1024.0 * 1024.0);
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Microseconds per task for `n` no-op tasks submitted at once, then gotten.
double per_task_us(long n) {
  auto start = steady::now();
  std::vector<manta::object_ref<int>> refs;
  refs.reserve(static_cast<size_t>(n));
  for (long i = 0; i < n; ++i)
    refs.push_back(manta::task(nothing).remote(static_cast<int>(i)));
  auto values = manta::get(refs);
  double us = seconds_since(start) * 1e6 / static_cast<double>(n);
  for (long i = 0; i < n; ++i)
    if (values[static_cast<size_t>(i)] != i) {
      std::fprintf(stderr, "BUG: task %ld returned %d\n", i, values[static_cast<size_t>(i)]);
      std::exit(1);
    }
  return us;
}

struct settings {
  int workers = 32;
  int idle_seconds = 10;
  long max_tasks = 1'000'000;
  int rounds = 3;
  bool plain = false;
};

/// The command line, or nothing (after printing why) when it is wrong.
std::optional<settings> parse(int argc, char** argv) {
  namespace po = boost::program_options;
  settings s;
  std::string transport = "tls";
  po::options_description opts{"cluster_scale options"};
  opts.add_options()("help", "this text")(
    "workers", po::value(&s.workers)->default_value(s.workers), "single-CPU worker processes")(
    "idle-seconds", po::value(&s.idle_seconds)->default_value(s.idle_seconds),
    "how long the idle cluster's CPU is measured")(
    "max-tasks", po::value(&s.max_tasks)->default_value(s.max_tasks),
    "largest batch of tasks (sizes 1,000 x 10^k up to it)")(
    "rounds", po::value(&s.rounds)->default_value(s.rounds), "interleaved rounds of the sizes")(
    "transport", po::value(&transport)->default_value(transport), "tls or plain");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "cluster_scale: " << e.what() << "\n" << opts;
    return std::nullopt;
  }
  if (vm.count("help") != 0) {
    std::cout << opts;
    return std::nullopt;
  }
  if (s.workers < 1 || s.idle_seconds < 1 || s.max_tasks < 1000 || s.rounds < 1
      || (transport != "tls" && transport != "plain")) {
    std::cerr << "cluster_scale: --workers, --idle-seconds and --rounds must be positive, "
                 "--max-tasks at least 1000, --transport tls or plain\n"
              << opts;
    return std::nullopt;
  }
  s.plain = transport == "plain";
  return s;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view{argv[1]} == exit_flag)
    return 0;
  if (manta::is_cluster_process(argc, argv))
    return manta::init(argc, argv), 0; // a head or worker: never returns here
  auto s = parse(argc, argv);
  if (!s)
    return 2;
  std::string self = "/proc/self/exe";
  char path[4096];
  auto len = ::readlink(self.c_str(), path, sizeof(path) - 1);
  if (len <= 0)
    return std::fprintf(stderr, "cluster_scale: cannot read /proc/self/exe\n"), 1;
  path[len] = '\0';

  double floor_s = process_start_floor(path, s->workers + 1);
  manta::tls_options tls;
  tls.plain = s->plain;
  std::printf("transport: %s; %d single-CPU workers on %ld cores\n",
              tls.plain ? "plain TCP" : "TLS (the default)", s->workers,
              ::sysconf(_SC_NPROCESSORS_ONLN));
  auto start = steady::now();
  manta::local_cluster c{tls};
  std::vector<pid_t> workers;
  for (int i = 0; i < s->workers; ++i)
    workers.push_back(c.add_worker(1));
  c.join(0);
  double join_s = seconds_since(start);
  std::printf("join       %d workers + head joined in %.2f s; floor (start %d processes of "
              "this program that exit at once) %.2f s; ratio %.1fx\n",
              s->workers, join_s, s->workers + 1, floor_s, join_s / floor_s);

  // Idle: every process's CPU over the window, the driver included.
  std::vector<pid_t> all = workers;
  all.push_back(c.head_pid());
  all.push_back(::getpid());
  std::map<pid_t, long> before;
  for (auto pid : all)
    before[pid] = cpu_ticks(pid);
  auto idle_start = steady::now();
  std::this_thread::sleep_for(std::chrono::seconds(s->idle_seconds));
  double window = seconds_since(idle_start);
  double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto percent = [&](pid_t pid) {
    return static_cast<double>(cpu_ticks(pid) - before[pid]) / hz / window * 100.0;
  };
  std::vector<double> worker_cpu, worker_rss;
  for (auto pid : workers) {
    worker_cpu.push_back(percent(pid));
    worker_rss.push_back(rss_mib(pid));
  }
  double head_cpu = percent(c.head_pid()), driver_cpu = percent(::getpid());
  double total_cpu = head_cpu + driver_cpu;
  for (double p : worker_cpu)
    total_cpu += p;
  std::printf("idle       over %.1f s: cluster %.2f%% of one core in all; per worker median "
              "%.3f%% (max %.3f%%), head %.3f%%, driver %.3f%%\n",
              window, total_cpu, median(worker_cpu),
              *std::max_element(worker_cpu.begin(), worker_cpu.end()), head_cpu, driver_cpu);
  std::printf("memory     RSS per worker median %.1f MiB (max %.1f), head %.1f MiB, driver "
              "%.1f MiB; all %d processes %.0f MiB\n",
              median(worker_rss), *std::max_element(worker_rss.begin(), worker_rss.end()),
              rss_mib(c.head_pid()), rss_mib(::getpid()), s->workers + 2, [&] {
                double sum = rss_mib(c.head_pid()) + rss_mib(::getpid());
                for (double r : worker_rss)
                  sum += r;
                return sum;
              }());

  // Cost per task by batch size, the sizes interleaved in every round.
  std::vector<long> sizes;
  for (long n = 1000; n <= s->max_tasks; n *= 10)
    sizes.push_back(n);
  per_task_us(1000); // warm up connections and threads
  std::map<long, std::vector<double>> us;
  for (int round = 0; round < s->rounds; ++round)
    for (long n : sizes)
      us[n].push_back(per_task_us(n));
  double base = median(us[sizes.front()]);
  for (long n : sizes) {
    auto m = median(us[n]);
    std::printf("tasks      %8ld no-op tasks over %d workers: %.2f us/task (median of %d; "
                "%.0f tasks/s); against 1,000 tasks %.2fx\n",
                n, s->workers, m, s->rounds, 1e6 / m, m / base);
  }
  return 0;
}
