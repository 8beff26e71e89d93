#pragma once

#include <cstdint>

namespace manta::detail {

/// Physical CPU use between two readings, from the kernel's counters:
/// this process's user + system time (/proc/self/stat) and the machine's
/// busy time (/proc/stat), each as a percentage of every CPU of the
/// machine (100: all cores busy). What the dashboard graphs per node.
class cpu_meter {
public:
  struct reading {
    /// This process's share of the machine's CPU time since the last reading.
    double process_percent = 0;
    /// The machine's busy share (everything but idle and iowait).
    double machine_percent = 0;
  };

  /// Takes the first counters (the first `read()` measures from here).
  cpu_meter();

  /// The use since the previous call (or construction); zeros where the
  /// counters cannot be read (no /proc).
  reading read();

private:
  struct counters {
    uint64_t process_ticks = 0; ///< utime + stime, in clock ticks
    uint64_t machine_busy = 0;  ///< jiffies not idle
    uint64_t machine_total = 0; ///< every jiffy of every CPU
  };
  static counters now();

  counters last_;
};

} // namespace manta::detail
