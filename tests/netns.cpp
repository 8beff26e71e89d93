#include "tests/netns.hpp"

#include "tests/netem_relay.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace manta_test {

namespace {

/// Runs `cmd` with sh: its exit status (-1 on a signal) and its output.
std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr)
    return {-1, "popen failed"};
  std::array<char, 512> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string ns_path(const std::string& name) {
  return "/run/netns/" + name;
}

/// The bridge's namespace for the prefix.
std::string bridge_ns(const std::string& prefix) {
  return prefix + "br";
}

/// Whether `pid` runs: it exists and is not a zombie (a killed test whose
/// parent has not reaped it yet left its namespaces all the same).
bool process_runs(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return false;
  auto paren = line.rfind(')'); // the name may hold spaces and parentheses
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

} // namespace

std::string must_run(const std::string& cmd) {
  auto [rc, out] = sh(cmd);
  if (rc != 0)
    throw std::runtime_error("netns harness: `" + cmd + "` failed (" + std::to_string(rc)
                             + "): " + out);
  return out;
}

std::string netns_unavailable() {
  if (::geteuid() != 0)
    return "network namespaces need root (run the test as root, as CI does)";
  if (sh("ip -V").first != 0)
    return "no `ip` command (iproute2; tools/setup.sh installs it)";
  auto probe = "manta-" + std::to_string(::getpid()) + "-probe";
  auto [rc, out] = sh("ip netns add " + probe + " && ip -n " + probe
                      + " link add b0 type bridge && ip -n " + probe
                      + " link add v0 type veth peer name v1");
  sh("ip netns del " + probe);
  if (rc != 0)
    return "the kernel refused a network namespace, a bridge or a veth pair: " + out;
  return {};
}

namespace {

/// Why the kernel's netem qdisc cannot be used ("" when it can).
std::string kernel_netem_unavailable() {
  if (sh("tc -V").first != 0)
    return "no `tc` command (iproute2; tools/setup.sh installs it)";
  auto probe = "manta-" + std::to_string(::getpid()) + "-probe";
  auto [rc, out] = sh("ip netns add " + probe + " && ip netns exec " + probe
                      + " tc qdisc add dev lo root netem delay 1ms");
  sh("ip netns del " + probe);
  if (rc != 0)
    return "this kernel has no netem qdisc (sch_netem): " + out;
  return {};
}

/// Why the fallback (tests/netem_relay.hpp) cannot be used ("" when it can).
std::string relay_unavailable() {
  if (!netem_relay_built())
    return "this build has no NFQUEUE relay (libnetfilter_queue; tools/setup.sh installs it)";
  if (sh("iptables -V").first != 0)
    return "no `iptables` command (tools/setup.sh installs it)";
  auto probe = "manta-" + std::to_string(::getpid()) + "-probe";
  auto rule = " iptables -A FORWARD -m physdev --physdev-in p0 ";
  auto [rc, out] = sh("ip netns add " + probe + " && ip netns exec " + probe
                      + " test -w /proc/sys/net/bridge/bridge-nf-call-iptables && ip netns exec "
                      + probe + rule
                      + "-m statistic --mode random --probability 0.01 -j DROP && ip netns exec "
                      + probe + rule + "-j NFQUEUE --queue-num 0");
  sh("ip netns del " + probe);
  if (rc != 0)
    return "the kernel has no br_netfilter, or refused iptables' physdev, statistic or "
           "NFQUEUE: "
           + out;
  return {};
}

/// Whether `netem` uses the kernel's qdisc (probed once).
bool kernel_netem() {
  static const bool yes = kernel_netem_unavailable().empty();
  return yes;
}

/// Node i's iptables chain in the bridge's namespace (the fallback).
std::string netem_chain(size_t i) {
  return "manta-netem-p" + std::to_string(i);
}

} // namespace

std::string netem_unavailable() {
  auto kernel = kernel_netem_unavailable();
  if (kernel.empty())
    return {};
  auto relay = relay_unavailable();
  if (relay.empty())
    return {};
  return kernel + "; and no fallback: " + relay;
}

std::string netem_kind() {
  return kernel_netem() ? "kernel netem (tc qdisc netem on each node's eth0)"
                        : "no kernel netem here: loss by an iptables statistic rule and delay by "
                          "an NFQUEUE relay, both on the bridge (tests/netem_relay.hpp)";
}

void netns_network::remove_stale() {
  auto [rc, out] = sh("ip netns list");
  if (rc != 0)
    return;
  std::istringstream in{out};
  std::string name, rest;
  while (in >> name) {
    std::getline(in, rest); // "(id: 3)"
    if (name.rfind("manta-", 0) != 0)
      continue;
    auto dash = name.find('-', 6);
    if (dash == std::string::npos)
      continue;
    auto pid_text = name.substr(6, dash - 6);
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (!process_runs(std::stoi(pid_text)))
      sh("ip netns del " + name);
  }
}

std::string netns_network::ip(size_t i) {
  return "10.213.0." + std::to_string(i + 1);
}

netns_network::netns_network(size_t nodes) : prefix_("manta-" + std::to_string(::getpid()) + "-") {
  remove_stale();
  remove_all(); // an earlier network of this process that was not removed
  try {
    auto br = bridge_ns(prefix_);
    must_run("ip netns add " + br + " && ip -n " + br + " link add br0 type bridge && ip -n " + br
             + " link set br0 up");
    for (size_t i = 0; i < nodes; ++i) {
      auto n = prefix_ + "n" + std::to_string(i);
      auto port = "p" + std::to_string(i);
      names_.push_back(n);
      must_run("ip netns add " + n + " && ip -n " + br + " link add " + port
               + " type veth peer name eth0 netns " + n + " && ip -n " + br + " link set " + port
               + " master br0 up && ip -n " + n + " addr add " + ip(i) + "/24 dev eth0 && ip -n "
               + n + " link set eth0 up && ip -n " + n + " link set lo up");
    }
  } catch (...) {
    remove_all();
    throw;
  }
}

netns_network::~netns_network() {
  leave();
  relay_.reset();
  remove_all();
}

void netns_network::remove_all() noexcept {
  for (auto pid : children_) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  children_.clear();
  // Every name of this prefix, also those a failed constructor left.
  auto [rc, out] = sh("ip netns list");
  std::istringstream in{out};
  std::string name, rest;
  while (rc == 0 && in >> name) {
    std::getline(in, rest);
    if (name.rfind(prefix_, 0) == 0)
      sh("ip netns del " + name);
  }
}

void netns_network::netem(size_t i, const std::string& spec) {
  if (kernel_netem()) {
    must_run("ip netns exec " + name(i) + " tc qdisc replace dev eth0 root netem " + spec);
    return;
  }
  // The fallback: node i's IP packets entering the bridge at its port go
  // through its chain, which drops a share and queues the rest to the
  // relay. They left the node already: its TCP sees loss and delay as
  // on a wire, not a failed send.
  auto s = parse_netem(spec); // throws on what the fallback cannot do
  auto br = "ip netns exec " + bridge_ns(prefix_) + " ";
  auto chain = netem_chain(i);
  if (sh(br + "iptables -F " + chain).first != 0) {
    // Bridged IP packets through iptables (br_netfilter; 1 is the
    // kernel's default, set in case a distribution changed it).
    must_run(br + "sh -c 'echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables'");
    must_run(br + "iptables -N " + chain);
    must_run(br + "iptables -A FORWARD -m physdev --physdev-in p" + std::to_string(i) + " -j "
             + chain);
  }
  if (s.delay.count() > 0 && !relay_)
    relay_ = std::make_unique<netem_relay>(bridge_ns(prefix_), size());
  if (relay_)
    relay_->set(i, s.delay, s.jitter);
  if (s.loss > 0)
    must_run(br + "iptables -A " + chain + " -m statistic --mode random --probability "
             + std::to_string(s.loss) + " -j DROP");
  if (s.delay.count() > 0)
    must_run(br + "iptables -A " + chain + " -j NFQUEUE --queue-num " + std::to_string(i));
}

void netns_network::clear_netem(size_t i) {
  if (kernel_netem()) {
    must_run("ip netns exec " + name(i) + " tc qdisc del dev eth0 root");
    return;
  }
  sh("ip netns exec " + bridge_ns(prefix_) + " iptables -F " + netem_chain(i));
  if (relay_)
    relay_->set(i, {}, {});
}

size_t netns_network::netem_released() const {
  return relay_ ? relay_->released() : 0;
}

size_t netns_network::netem_overruns() const {
  return relay_ ? relay_->overruns() : 0;
}

size_t netns_network::netem_dropped() const {
  if (kernel_netem())
    return 0;
  size_t out = 0;
  for (size_t i = 0; i < size(); ++i) {
    // "pkts bytes target ..." per rule; the DROP rule's count.
    auto [rc, text] = sh("ip netns exec " + bridge_ns(prefix_) + " iptables -L " + netem_chain(i)
                         + " -v -x -n");
    std::istringstream in{text};
    for (std::string line; rc == 0 && std::getline(in, line);) {
      std::istringstream words{line};
      std::string pkts, bytes, target;
      if (words >> pkts >> bytes >> target && target == "DROP")
        out += std::stoull(pkts);
    }
  }
  return out;
}

void netns_network::partition(size_t i) {
  must_run("ip -n " + bridge_ns(prefix_) + " link set p" + std::to_string(i) + " down");
}

void netns_network::heal(size_t i) {
  must_run("ip -n " + bridge_ns(prefix_) + " link set p" + std::to_string(i) + " up");
}

void netns_network::cut(size_t i, size_t j) {
  // Dropped where they arrive: a packet dropped on its way out would fail
  // the sender's send (EPERM), a reset rather than the silence of a cut.
  must_run("ip netns exec " + name(i) + " iptables -I INPUT -s " + ip(j) + " -j DROP");
  must_run("ip netns exec " + name(j) + " iptables -I INPUT -s " + ip(i) + " -j DROP");
}

void netns_network::mend(size_t i, size_t j) {
  must_run("ip netns exec " + name(i) + " iptables -D INPUT -s " + ip(j) + " -j DROP");
  must_run("ip netns exec " + name(j) + " iptables -D INPUT -s " + ip(i) + " -j DROP");
}

void netns_network::enter(size_t i) {
  int fd = ::open(ns_path(name(i)).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("netns harness: cannot open " + ns_path(name(i)) + ": "
                             + std::strerror(errno));
  if (home_ < 0)
    home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int rc = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    throw std::runtime_error("netns harness: setns into " + name(i) + ": " + std::strerror(err));
}

void netns_network::leave() {
  if (home_ < 0)
    return;
  ::setns(home_, CLONE_NEWNET);
  ::close(home_);
  home_ = -1;
}

pid_t netns_network::spawn(size_t i, const std::vector<std::string>& argv_in,
                           const std::string& log, const std::vector<std::string>& env) {
  // Everything is built before the fork: the child only switches
  // namespace, redirects and execs.
  std::vector<std::string> args = argv_in;
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry{*e};
    bool overridden = false;
    for (auto& x : env)
      overridden = overridden || entry.substr(0, x.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!overridden)
      env_copy.emplace_back(entry);
  }
  env_copy.insert(env_copy.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_copy)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int ns = ::open(ns_path(name(i)).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0)
    throw std::runtime_error("netns harness: cannot open " + ns_path(name(i)));
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0) {
    ::close(ns);
    ::close(out);
    throw std::runtime_error("netns harness: fork failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent || ::setns(ns, CLONE_NEWNET) != 0)
      ::_exit(126);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(ns);
  if (out >= 0)
    ::close(out);
  children_.push_back(pid);
  return pid;
}

void netns_network::kill(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  std::erase(children_, pid);
}

} // namespace manta_test
