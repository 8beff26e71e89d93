#pragma once

// The recursive fork-join task that the peers benchmark
// (tools/peers/manta_side.cpp), tools/fork_join_threads and the
// help-while-waiting test share, and the process's thread count they
// watch. Include it in one file of a program: it registers the task.

#include <manta/manta.hpp>

#include <fstream>
#include <string>

namespace manta_tools {

/// A task of the fork-join: submits two children of depth - 1 and gets
/// both (a task blocked in `get`, the shape help-while-waiting serves);
/// returns the number of tasks in its tree, 2^(depth+1) - 1.
inline long fork_join(int depth) {
  if (depth == 0)
    return 1;
  auto left = manta::task(fork_join).remote(depth - 1);
  auto right = manta::task(fork_join).remote(depth - 1);
  return 1 + manta::get(left) + manta::get(right);
}

MANTA_REMOTE(fork_join);

/// The process's threads now (/proc/self/status), or -1.
inline int threads_now() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return -1;
}

} // namespace manta_tools
