#include "manta/observe/cpu_meter.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace manta::detail {

namespace {

/// utime + stime of /proc/self/stat (fields 14 and 15; the command name,
/// field 2, may hold spaces, so counting starts after its closing ')').
uint64_t process_ticks() {
  std::ifstream in{"/proc/self/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest{text.substr(close + 2)};
  std::string field;
  uint64_t utime = 0, stime = 0;
  // After ')': field 3 (state) is the first; utime is field 14.
  for (int i = 3; i <= 13 && rest >> field; ++i) {
  }
  rest >> utime >> stime;
  return rest ? utime + stime : 0;
}

} // namespace

cpu_meter::counters cpu_meter::now() {
  counters c;
  c.process_ticks = process_ticks();
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice";
  // guest time is already in user and nice.
  std::ifstream in{"/proc/stat"};
  std::string cpu;
  uint64_t v[8] = {};
  if (in >> cpu && cpu == "cpu") {
    for (auto& x : v)
      in >> x;
    if (in) {
      for (auto x : v)
        c.machine_total += x;
      c.machine_busy = c.machine_total - v[3] - v[4];
    }
  }
  return c;
}

cpu_meter::cpu_meter() : last_(now()) {}

cpu_meter::reading cpu_meter::read() {
  auto c = now();
  reading r;
  // Both counters tick at USER_HZ: the process's ticks over every CPU's
  // jiffies is its share of the whole machine.
  if (c.machine_total > last_.machine_total) {
    auto total = static_cast<double>(c.machine_total - last_.machine_total);
    if (c.process_ticks >= last_.process_ticks)
      r.process_percent = 100.0 * static_cast<double>(c.process_ticks - last_.process_ticks)
                          / total;
    if (c.machine_busy >= last_.machine_busy)
      r.machine_percent = 100.0 * static_cast<double>(c.machine_busy - last_.machine_busy) / total;
  }
  last_ = c;
  return r;
}

} // namespace manta::detail
