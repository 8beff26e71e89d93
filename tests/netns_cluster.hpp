#pragma once

// A real cluster across network namespaces (tests/netns.hpp): a head, worker
// nodes and the test process as driver, each on a node of its own with its
// own address, talking over the bridge with --node-ip-address. The head and
// the workers are this program started again (single-binary mode, as
// manta::local_cluster does on 127.0.0.1).

#include "tests/netns.hpp"

#include <manta/init.hpp>

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace manta_test {

/// Set by a test when one of its checks failed (netns_test.cpp's listener):
/// `~netns_cluster` then keeps its folder of logs and says where it is.
inline bool netns_keep_logs = false;

class netns_cluster {
public:
  /// A network of `nodes` namespaces (nothing started yet). Every process
  /// gets `connection_timeout` (--connection-timeout) and the cluster's
  /// token in its environment.
  explicit netns_cluster(
    size_t nodes, std::chrono::milliseconds connection_timeout = manta::default_connection_timeout);
  /// Shuts this process's runtime down, brings the calling thread back to
  /// its namespace, kills every process and removes the namespaces. The
  /// folder of logs goes too, unless a check failed, an exception is on
  /// its way, or MANTA_KEEP_NETNS_LOGS is set.
  ~netns_cluster();

  netns_cluster(const netns_cluster&) = delete;
  netns_cluster& operator=(const netns_cluster&) = delete;

  netns_network& net() { return net_; }
  /// The folder of the logs, the head's address and token file.
  const std::string& dir() const { return dir_; }
  const std::string& token() const { return token_; }
  /// The head's "HOST:PORT" (after `start_head`).
  const std::string& address() const { return address_; }

  /// Starts a head on `node` with `flags` added (after --node-ip-address)
  /// and waits (up to 10 s) for its address; returns its pid. Its output
  /// goes to `log_of("head")`.
  pid_t start_head(size_t node = 0, const std::vector<std::string>& flags = {});

  /// Runs this program with `args` on `node`, output in `log_of(tag)`,
  /// returning at once; for processes expected to fail or exit.
  pid_t spawn(size_t node, const std::vector<std::string>& args, const std::string& tag);

  /// Starts a worker node on `node` offering `cpus` CPUs, with `flags`
  /// added; output in `log_of("node<N>")`. `join` and `wait_for_cpus`
  /// wait for it.
  pid_t add_worker(size_t node, double cpus, const std::vector<std::string>& flags = {});

  /// Kills a worker with SIGKILL; the CPUs it offered are no longer
  /// expected.
  void kill_worker(pid_t pid, double cpus);

  /// Makes this process a driver on `node` (its thread enters the
  /// namespace, then `manta::init` with the head's address, the token and
  /// the node's address) and waits until it sees every worker started.
  void join(size_t node, manta::init_options opts = {});

  /// Waits until the cluster offers exactly `cpus` CPUs; false after `limit`.
  bool wait_for_cpus(double cpus, std::chrono::seconds limit = std::chrono::seconds(15));

  /// The path of a process's output file.
  std::string log_of(const std::string& tag) const { return dir_ + "/" + tag + ".log"; }

  /// Starts a redis-server of the cluster's own on `node` (the head store,
  /// docs/cluster.md "Head fault tolerance"): on that node's address, no
  /// persistence, its log in `log_of("redis")`; waits (up to 10 s) until it
  /// accepts connections and returns its URL for --head-store. Throws
  /// std::runtime_error when it does not come up.
  std::string start_redis(size_t node);

  /// The path of redis-server, or "" where it is not installed (the tests
  /// needing it then skip).
  static std::string redis_server_path();

  /// Flags every process gets (the connection timeout).
  std::vector<std::string> common_flags() const;

private:
  netns_network net_;
  std::chrono::milliseconds timeout_;
  std::string dir_;
  std::string token_;
  std::string address_;
  double expected_cpus_ = 0;
};

} // namespace manta_test
