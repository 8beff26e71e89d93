#pragma once

#include "manta/init.hpp"

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

/// A real cluster on this machine, for tests, benchmarks and demos (Ray's
/// `cluster_utils.Cluster`): a head and worker nodes on 127.0.0.1, each a
/// child process running this very program with cluster flags
/// (single-binary mode), which the program then joins as a driver. The
/// program must hand those flags to the runtime before doing anything else:
/// `manta::init(argc, argv)` does, or branch on `manta::is_cluster_process`
/// and call `manta::worker_main` / `manta::head_main`. Children are killed
/// (SIGKILL) and reaped when the `local_cluster` goes, whatever happened;
/// they also die with this process (PR_SET_PDEATHSIG).
///
///     manta::local_cluster c;
///     c.add_worker(2);                  // a node with 2 CPUs
///     c.join(0);                        // this process: a driver, no CPUs
///     auto r = manta::task(f).remote(); // runs on the worker
///
/// With `tls` every node it starts, and `join`, use TLS (docs/cluster.md).
namespace manta {
/// A head and worker nodes on this machine, started and stopped by this object (see above).
class local_cluster {
public:
  /// Starts the head and waits (up to 10 s) until it listens. With `tls`
  /// enabled the head, the workers of `add_worker` and `join` use it;
  /// `spawn` passes it only if asked. Without certificates, environment
  /// `MANTA_TRANSPORT=plain` makes them all plain TCP.
  explicit local_cluster(tls_options tls = {});

  /// Shuts down this process's runtime if it is running, then kills and
  /// reaps every node started here, the head last.
  ~local_cluster();

  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  /// The head's "HOST:PORT".
  const std::string& address() const { return address_; }

  /// The head's process id (for fault injection; killed with the cluster).
  pid_t head_pid() const { return children_.front(); }

  /// The cluster token the head made; workers and `join` use it.
  const std::string& token() const { return token_; }

  /// The folder holding the head's address, token and log (removed with
  /// the cluster).
  const std::string& dir() const { return dir_; }

  /// Where the head serves the cluster's dashboard: "127.0.0.1:PORT" (any
  /// free port, written by the head before its address).
  std::string dashboard_address() const;

  /// What the head wrote to its stderr so far.
  std::string head_log() const;

  /// The TLS settings of the nodes started here (all empty: plain TCP).
  const tls_options& tls() const { return tls_; }

  /// The command line flags that give a process `tls()` (none without TLS).
  std::vector<std::string> tls_flags() const;

  /// Starts this program again with `args` (e.g. a worker with other
  /// flags; add `tls_flags()` for TLS), its stderr in `stderr_log` if given;
  /// returns its pid. It gets the cluster's token in its environment
  /// (MANTA_TOKEN; `--token-file=F` overrides it). The process is killed
  /// with the cluster unless it ended before.
  pid_t spawn(const std::vector<std::string>& args, const std::string& stderr_log = "");

  /// Starts a worker node offering `cpus` CPUs and `resources` ("GPU:1"),
  /// with `flags` added to its command line and its stderr in `stderr_log`
  /// if given; returns its pid. `join` waits for it.
  pid_t add_worker(double cpus, const std::string& resources = "",
                   const std::vector<std::string>& flags = {}, const std::string& stderr_log = "");

  /// Joins as a driver with `local_cpus` CPUs of its own (and the other
  /// settings of `opts`; the token and TLS default to the cluster's) and waits
  /// until it sees every worker started so far.
  void join(double local_cpus = 0, init_options opts = {});

  /// Waits until the cluster offers exactly `cpus` CPUs; returns how long
  /// it took. Throws `manta::error` after `limit`. The default is long
  /// because the wait ends as soon as the condition holds: on a loaded
  /// machine a worker's start and connections (process start, TLS
  /// handshakes, a first connection that timed out after
  /// `cluster::connect_timeout` and is tried again) took over 15 s.
  std::chrono::milliseconds wait_for_cpus(double cpus, std::chrono::seconds limit = join_limit);

  /// The default bound of `join` and `wait_for_cpus`.
  static constexpr std::chrono::seconds join_limit{60};

  /// Kills a worker with SIGKILL (no goodbye) and reaps it.
  void kill_worker(pid_t pid, double cpus);

private:
  std::string dir_;
  std::string address_;
  std::string token_;
  tls_options tls_;
  std::vector<pid_t> children_;
  double expected_cpus_ = 0;
};

} // namespace manta
