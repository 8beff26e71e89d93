#pragma once

// How many threads this process has, for the suites that check the runtime
// starts and stops its threads (init_test, nested_test).

#include <cstddef>
#include <dirent.h>

/// Threads of this process right now.
inline size_t thread_count() {
  size_t n = 0;
  if (auto* dir = opendir("/proc/self/task")) {
    while (auto* e = readdir(dir))
      if (e->d_name[0] != '.')
        ++n;
    closedir(dir);
  }
  return n;
}
