#pragma once

// Starts a real cluster on 127.0.0.1 for one test case: a head and worker
// nodes, each a child process running this very test binary with cluster
// flags (single-binary mode), then joins it as a driver. Children are killed
// (SIGKILL) and reaped when the harness goes, whatever the test did; they
// also die with the test process (PR_SET_PDEATHSIG).

#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace manta_test {

/// Forks and execs /proc/self/exe with `args`; returns the child's pid. With
/// a `log`, the child's stderr goes to that file.
inline pid_t spawn_self(const std::vector<std::string>& args, const std::string& log = "") {
  std::vector<char*> argv;
  static std::string self = "/proc/self/exe";
  argv.push_back(self.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(1);
    if (!log.empty()) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0)
        ::dup2(fd, 2);
    }
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  return pid;
}

class test_cluster {
public:
  test_cluster() {
    char tmpl[] = "/tmp/manta-cluster-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    auto file = dir_ + "/head.address";
    head_ = spawn_self({"--manta-head", "--manta-port=0", "--manta-address-file=" + file},
                       dir_ + "/head.log");
    children_.push_back(head_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (address_.empty()) {
      std::ifstream in{file};
      in >> address_;
      if (address_.empty()) {
        if (std::chrono::steady_clock::now() > deadline)
          throw std::runtime_error("the head did not start");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    // The head writes its token before its address.
    std::ifstream in{dir_ + "/head.token"};
    in >> token_;
    if (token_.empty())
      throw std::runtime_error("the head wrote no token");
  }

  ~test_cluster() {
    if (manta::is_initialized())
      manta::shutdown();
    for (auto pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    for (auto name : {"/head.address", "/head.token", "/head.log", "/worker.log"})
      std::remove((dir_ + name).c_str());
    ::rmdir(dir_.c_str());
  }

  test_cluster(const test_cluster&) = delete;
  test_cluster& operator=(const test_cluster&) = delete;

  const std::string& address() const { return address_; }
  const std::string& token() const { return token_; }
  const std::string& dir() const { return dir_; }

  /// What the head wrote to its stderr so far.
  std::string head_log() const {
    std::ifstream in{dir_ + "/head.log"};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  }

  /// Starts a worker node offering `cpus` CPUs and `resources` ("GPU:1").
  pid_t add_worker(double cpus, const std::string& resources = "") {
    std::vector<std::string> args{"--manta-worker", "--address=" + address_,
                                  "--token=" + token_, "--num-cpus=" + std::to_string(cpus)};
    if (!resources.empty())
      args.push_back("--resources=" + resources);
    auto pid = spawn_self(args);
    children_.push_back(pid);
    expected_cpus_ += cpus;
    return pid;
  }

  /// Joins as a driver with `local_cpus` CPUs of its own and waits until
  /// it sees every worker started so far.
  void join(double local_cpus = 0) {
    manta::init_options opts;
    opts.num_cpus = local_cpus;
    opts.address = address_;
    opts.token = token_;
    manta::init(opts);
    wait_for_cpus(local_cpus + expected_cpus_);
  }

  /// Waits until the cluster offers exactly `cpus` CPUs; returns how long
  /// it took.
  std::chrono::milliseconds wait_for_cpus(double cpus,
                                          std::chrono::seconds limit = std::chrono::seconds(15)) {
    auto start = std::chrono::steady_clock::now();
    for (;;) {
      auto rs = manta::cluster_resources();
      if (rs["CPU"] == cpus)
        break;
      if (std::chrono::steady_clock::now() - start > limit)
        throw std::runtime_error("the cluster did not reach " + std::to_string(cpus)
                                 + " CPUs (it has " + std::to_string(rs["CPU"]) + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  }

  /// Kills a worker with SIGKILL (no goodbye) and reaps it.
  void kill_worker(pid_t pid, double cpus) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    expected_cpus_ -= cpus;
  }

private:
  std::string dir_;
  std::string address_;
  std::string token_;
  pid_t head_ = 0;
  std::vector<pid_t> children_;
  double expected_cpus_ = 0;
};

/// The main of a multi-process test binary: the head or a worker node when
/// the harness started it as one (never returns), else the doctest run.
inline int cluster_test_main(int argc, char** argv) {
  if (manta::is_cluster_process(argc, argv)) {
    manta::init(argc, argv);
    return 1;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}

} // namespace manta_test
