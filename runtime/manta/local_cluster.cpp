#include "manta/local_cluster.hpp"

#include "manta/observe/log_sink.hpp"
#include "manta/errors.hpp"
#include "manta/init.hpp"
#include "manta/resources.hpp"

#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace manta {

namespace {

using steady = std::chrono::steady_clock;

/// Forks and execs this program (/proc/self/exe) with `args`; returns the
/// child's pid. `quiet` sends the child's stdout to /dev/null; a
/// `stderr_log` receives its stderr. A `token` goes in the child's
/// environment (MANTA_TOKEN), never on its command line, which every user
/// of the machine can read.
pid_t spawn_self(const std::vector<std::string>& args, bool quiet, const std::string& stderr_log,
                 const std::string& token = "") {
  std::vector<std::string> copy = args;
  std::string self = "/proc/self/exe";
  std::vector<char*> argv{self.data()};
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  // Built before the fork: the child only execs.
  std::vector<std::string> env_copy;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view{*e}.substr(0, 12) != "MANTA_TOKEN=")
      env_copy.emplace_back(*e);
  if (!token.empty())
    env_copy.push_back("MANTA_TOKEN=" + token);
  std::vector<char*> envp;
  for (auto& e : env_copy)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0)
    throw error("manta::local_cluster: fork failed; is the process limit reached?");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(1);
    // dup2, not freopen: stdio would flush the parent's unwritten output
    // that the fork copied, and it would appear twice.
    if (quiet) {
      int null = ::open("/dev/null", O_WRONLY);
      if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0)
        ::_exit(1);
    }
    if (!stderr_log.empty()) {
      int fd = ::open(stderr_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0)
        ::_exit(1);
    }
    ::execve("/proc/self/exe", argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

local_cluster::local_cluster(tls_options tls) : tls_(std::move(tls)) {
  // MANTA_TRANSPORT=plain runs a default cluster, driver included, on plain
  // TCP (as it does a node's own default): how the cluster suites run with
  // the task lane on, which speaks plain TCP only (docs/cluster.md).
  if (auto* env = std::getenv("MANTA_TRANSPORT");
      env != nullptr && std::string_view{env} == "plain" && !tls_.enabled())
    tls_.plain = true;
  char tmpl[] = "/tmp/manta-local-cluster-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw error("manta::local_cluster: cannot create a folder under /tmp");
  dir_ = tmpl;
  auto file = dir_ + "/head.address";
  // The head prints its address for `manta start`; here it is read from the
  // file. Its log (joins, refusals) goes to head.log.
  // Its dashboard (the whole cluster's) on any free port: head.dashboard.
  std::vector<std::string> args{"--manta-head", "--manta-port=0", "--dashboard-port=0",
                                "--manta-address-file=" + file};
  for (auto& flag : tls_flags())
    args.push_back(flag);
  children_.push_back(spawn_self(args, /*quiet=*/true, dir_ + "/head.log"));
  auto deadline = steady::now() + std::chrono::seconds(10);
  while (address_.empty()) {
    std::ifstream in{file};
    in >> address_;
    if (address_.empty()) {
      if (steady::now() > deadline)
        throw error("manta::local_cluster: the head did not start within 10 s; does "
                    "this program pass its arguments to manta::init(argc, argv) first? "
                    "Its log: "
                    + read_file(dir_ + "/head.log"));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // The head writes its token before its address.
  std::ifstream in{dir_ + "/head.token"};
  in >> token_;
  if (token_.empty())
    throw error("manta::local_cluster: the head wrote no token to " + dir_ + "/head.token");
}

local_cluster::~local_cluster() {
  if (is_initialized())
    shutdown();
  // The newest first, the head (the first) last: workers that outlived the
  // head would spend their last moments trying to join it again.
  for (auto pid = children_.rbegin(); pid != children_.rend(); ++pid) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> local_cluster::tls_flags() const {
  if (tls_.plain)
    return {"--transport=plain"};
  if (!tls_.enabled())
    return {};
  return {"--tls-cert=" + tls_.certificate, "--tls-key=" + tls_.key, "--tls-ca=" + tls_.ca_file};
}

std::string local_cluster::dashboard_address() const {
  std::string out;
  std::ifstream{dir_ + "/head.dashboard"} >> out;
  return out;
}

std::string local_cluster::head_log() const {
  return read_file(dir_ + "/head.log");
}

pid_t local_cluster::spawn(const std::vector<std::string>& args, const std::string& stderr_log) {
  auto pid = spawn_self(args, /*quiet=*/false, stderr_log, token_);
  children_.push_back(pid);
  return pid;
}

pid_t local_cluster::add_worker(double cpus, const std::string& resources,
                                const std::vector<std::string>& flags,
                                const std::string& stderr_log) {
  std::vector<std::string> args{"--manta-worker", "--address=" + address_,
                                "--num-cpus=" + std::to_string(cpus)};
  if (!resources.empty())
    args.push_back("--resources=" + resources);
  for (auto& flag : tls_flags())
    args.push_back(flag);
  args.insert(args.end(), flags.begin(), flags.end());
  auto pid = spawn(args, stderr_log);
  expected_cpus_ += cpus;
  return pid;
}

void local_cluster::join(double local_cpus, init_options opts) {
  opts.num_cpus = local_cpus;
  opts.address = address_;
  if (!opts.token)
    opts.token = token_;
  if (!opts.tls.enabled() && !opts.tls.plain)
    opts.tls = tls_;
  init(opts);
  auto took = wait_for_cpus(local_cpus + expected_cpus_);
  // Slow joins are what a loaded machine shows first: say so, for the
  // test's log.
  if (took > std::chrono::seconds(5))
    detail::log_line(log_level::warning,
                     "manta::local_cluster: the driver saw all %g CPUs after %lld ms\n",
                     local_cpus + expected_cpus_, static_cast<long long>(took.count()));
}

std::chrono::milliseconds local_cluster::wait_for_cpus(double cpus, std::chrono::seconds limit) {
  auto start = steady::now();
  for (;;) {
    auto rs = cluster_resources();
    if (rs["CPU"] == cpus)
      break;
    if (steady::now() - start > limit)
      throw error("manta::local_cluster: the cluster did not reach " + std::to_string(cpus)
                  + " CPUs within " + std::to_string(limit.count()) + " s (it has "
                  + std::to_string(rs["CPU"]) + "); did a worker fail to start?");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
}

void local_cluster::kill_worker(pid_t pid, double cpus) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  expected_cpus_ -= cpus;
}

} // namespace manta
