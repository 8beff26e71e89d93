#pragma once

// Remote functions the cluster suites share, each recording what it did in
// a file the test reads (a worker's runs, a cancel, a retry are seen across
// processes). Included by one file of each test binary (the functions
// register under their names, as in any test file).

#include "tests/cluster_helpers.hpp"

#include <manta/manta.hpp>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

void append(const std::string& path, const std::string& line) {
  std::ofstream{path, std::ios::app} << line << '\n';
}

int plus_one(int x) {
  return x + 1;
}
MANTA_REMOTE(plus_one);

/// Says it started in `path`, then sleeps `ms` (or until cancelled); its
/// process id.
int slow_pid(std::string path, int ms) {
  append(path, "started in " + std::to_string(::getpid()));
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{ms};
  while (!manta::cancelled() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  if (manta::cancelled())
    append(path, "cancelled");
  return ::getpid();
}
MANTA_REMOTE(slow_pid);

/// Fails its first run (counted in `path`), then returns 7.
int flaky(std::string path) {
  append(path, "try");
  if (manta_test::count_of(manta_test::read_all(path), "try") < 2)
    throw std::runtime_error("flaky: the first run fails");
  return 7;
}
MANTA_REMOTE(flaky);

/// Writes "ran" to `path`.
int mark(std::string path) {
  append(path, "ran");
  return 2;
}
MANTA_REMOTE(mark);

/// `n` bytes of `c`: above 64 KiB, its value comes beside the message.
std::vector<char> bytes_of(int n, char c) {
  return std::vector<char>(static_cast<size_t>(n), c);
}
MANTA_REMOTE(bytes_of);

} // namespace
