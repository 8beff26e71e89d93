#pragma once

// This process's resident memory, for the suites that check a store or a
// server gives memory back, or does not grow under an attack.

#include <cstddef>
#include <fstream>
#include <unistd.h>

namespace manta_test {

/// Resident set size of this process in bytes (/proc/self/statm).
inline size_t rss_bytes() {
  std::ifstream in{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace manta_test
