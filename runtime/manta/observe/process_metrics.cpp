// The process_* metrics every Prometheus client library exports (CPU time,
// memory, threads, descriptors, start time), read from /proc/self when
// /metrics is scraped: a node's own cost next to what it runs.

#include "manta/observe/prometheus.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace manta::detail {

namespace {

/// The fields of /proc/self/stat after the command name (which may hold
/// spaces and parentheses, so the split starts after its last ')'):
/// fields[0] is the state (field 3 of proc(5)).
std::vector<std::string> stat_fields() {
  std::ifstream in{"/proc/self/stat"};
  std::string line;
  std::getline(in, line);
  auto paren = line.rfind(')');
  std::vector<std::string> out;
  if (paren == std::string::npos)
    return out;
  std::istringstream rest{line.substr(paren + 1)};
  for (std::string f; rest >> f;)
    out.push_back(std::move(f));
  return out;
}

/// The field numbered `n` in proc(5) (1-based, 3 = state), 0 if absent.
double field(const std::vector<std::string>& fields, size_t n) {
  if (n < 3 || n - 3 >= fields.size())
    return 0;
  return std::strtod(fields[n - 3].c_str(), nullptr);
}

/// The system's boot time (seconds since the Unix epoch), from /proc/stat.
double boot_time() {
  std::ifstream in{"/proc/stat"};
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value)
      return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it{"/proc/self/fd", ec}, end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n;
}

} // namespace

void write_process_metrics(prometheus_writer& w) {
  auto f = stat_fields();
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (f.empty() || ticks <= 0)
    return; // no /proc: nothing to say rather than zeros
  w.family("process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.");
  w.sample("process_cpu_seconds_total", {}, (field(f, 14) + field(f, 15)) / ticks);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample("process_resident_memory_bytes", {}, field(f, 24) * page);
  w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  w.sample("process_virtual_memory_bytes", {}, field(f, 23));
  w.family("process_threads", "gauge", "Number of OS threads in the process.");
  w.sample("process_threads", {}, field(f, 20));
  w.family("process_open_fds", "gauge", "Number of open file descriptors.");
  w.sample("process_open_fds", {}, open_fds());
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    w.sample("process_max_fds", {}, static_cast<double>(lim.rlim_cur));
  }
  w.family("process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
  w.sample("process_start_time_seconds", {}, boot_time() + field(f, 22) / ticks);
}

} // namespace manta::detail
