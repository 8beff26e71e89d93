#pragma once

// An attempt log shared by the tests that count how often a task ran, across
// processes: each attempt appends its process id as one line.

#include <fcntl.h>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace manta_test {

/// The process ids in the attempt log at `path`, one per attempt, in order.
inline std::vector<int> pids_in(const std::string& path) {
  std::ifstream in{path};
  std::vector<int> out;
  for (int pid = 0; in >> pid;)
    out.push_back(pid);
  return out;
}

/// Appends this process's id to `log` with one O_APPEND write (atomic
/// between processes); returns the number of attempts the log holds now,
/// this one included.
inline size_t record_attempt(const std::string& log) {
  auto line = std::to_string(::getpid()) + "\n";
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot open " + log);
  auto written = ::write(fd, line.data(), line.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()))
    throw std::runtime_error("short write to " + log);
  return pids_in(log).size();
}

} // namespace manta_test
