#include "tests/netns_cluster.hpp"

#include <manta/cluster/cluster_token.hpp>
#include <manta/manta.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>

namespace manta_test {

using steady = std::chrono::steady_clock;

netns_cluster::netns_cluster(size_t nodes, std::chrono::milliseconds connection_timeout)
  : net_(nodes), timeout_(connection_timeout), token_(manta::detail::generate_token()) {
  char tmpl[] = "/tmp/manta-netns-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("netns_cluster: cannot create a folder under /tmp");
  dir_ = tmpl;
}

netns_cluster::~netns_cluster() {
  if (manta::is_initialized())
    manta::shutdown();
  net_.leave();
  // The processes go with the network (its destructor, right after this);
  // the folder of logs stays after a failure, to be read.
  if (netns_keep_logs || std::uncaught_exceptions() > 0
      || std::getenv("MANTA_KEEP_NETNS_LOGS") != nullptr) {
    std::fprintf(stderr, "netns_cluster: the logs of the head and the nodes are in %s\n",
                 dir_.c_str());
    netns_keep_logs = false;
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> netns_cluster::common_flags() const {
  return {"--connection-timeout=" + std::to_string(timeout_.count()) + "ms"};
}

pid_t netns_cluster::spawn(size_t node, const std::vector<std::string>& args,
                           const std::string& tag) {
  std::vector<std::string> argv{"/proc/self/exe"};
  argv.insert(argv.end(), args.begin(), args.end());
  return net_.spawn(node, argv, log_of(tag), {"MANTA_TOKEN=" + token_});
}

pid_t netns_cluster::start_head(size_t node, const std::vector<std::string>& flags) {
  auto file = dir_ + "/head.address";
  std::filesystem::remove(file);
  std::vector<std::string> args{"--manta-head", "--manta-port=0", "--manta-address-file=" + file,
                                "--node-ip-address=" + netns_network::ip(node)};
  for (auto& f : common_flags())
    args.push_back(f);
  args.insert(args.end(), flags.begin(), flags.end());
  auto pid = spawn(node, args, "head");
  auto deadline = steady::now() + std::chrono::seconds(10);
  address_.clear();
  while (address_.empty()) {
    std::ifstream in{file};
    in >> address_;
    if (!address_.empty())
      break;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid || steady::now() > deadline)
      throw std::runtime_error("netns_cluster: the head did not come up; see " + log_of("head"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pid;
}

pid_t netns_cluster::add_worker(size_t node, double cpus, const std::vector<std::string>& flags) {
  std::vector<std::string> args{"--manta-worker", "--address=" + address_,
                                "--node-ip-address=" + netns_network::ip(node),
                                "--num-cpus=" + std::to_string(cpus)};
  for (auto& f : common_flags())
    args.push_back(f);
  args.insert(args.end(), flags.begin(), flags.end());
  expected_cpus_ += cpus;
  return spawn(node, args, "node" + std::to_string(node));
}

void netns_cluster::kill_worker(pid_t pid, double cpus) {
  net_.kill(pid);
  expected_cpus_ -= cpus;
}

void netns_cluster::join(size_t node, manta::init_options opts) {
  net_.enter(node);
  opts.address = address_;
  if (!opts.token)
    opts.token = token_;
  opts.node_ip_address = netns_network::ip(node);
  if (!opts.num_cpus)
    opts.num_cpus = 0;
  opts.connection_timeout = timeout_;
  manta::init(opts);
  auto own = *opts.num_cpus;
  if (!wait_for_cpus(expected_cpus_ + own))
    throw std::runtime_error("netns_cluster: the driver did not see every worker within 15 s");
}

std::string netns_cluster::redis_server_path() {
  try {
    auto out = must_run("command -v redis-server");
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back())))
      out.pop_back();
    return out;
  } catch (const std::runtime_error&) {
    return {};
  }
}

std::string netns_cluster::start_redis(size_t node) {
  auto path = redis_server_path();
  if (path.empty())
    throw std::runtime_error("netns_cluster: redis-server is not installed (tools/setup.sh "
                             "installs Debian's redis-server)");
  auto ip = netns_network::ip(node);
  auto pid = net_.spawn(node,
                        {path, "--port", "6379", "--bind", ip, "--dir", dir_, "--save", "",
                         "--appendonly", "no", "--protected-mode", "no"},
                        log_of("redis"));
  // It says so once it listens (every version since 2.x).
  auto deadline = steady::now() + std::chrono::seconds(10);
  auto ready = [&] {
    std::ifstream in{log_of("redis")};
    std::string line;
    while (std::getline(in, line))
      if (line.find("Ready to accept connections") != std::string::npos)
        return true;
    return false;
  };
  while (!ready()) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid || steady::now() > deadline)
      throw std::runtime_error("netns_cluster: redis-server did not come up on " + ip
                               + ":6379 within 10 s; see " + log_of("redis"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return "redis://" + ip + ":6379/0";
}

bool netns_cluster::wait_for_cpus(double cpus, std::chrono::seconds limit) {
  auto deadline = steady::now() + limit;
  while (steady::now() < deadline) {
    if (manta::cluster_resources()["CPU"] == cpus)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

} // namespace manta_test
