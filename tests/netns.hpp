#pragma once

// Separate network hosts on one machine for the multi-process tests and
// the netns benchmark: one network namespace per node, joined by a bridge
// that lives in a namespace of its own, each node with its own address in
// 10.213.0.0/24 (addresses that exist only inside namespaces the harness
// creates). Delay, jitter and loss with `tc netem`, or where the kernel has
// no netem with a packet-level fallback on the bridge (an iptables rule
// that drops, an NFQUEUE relay that delays: tests/netem_relay.hpp); the
// same `netem(i, spec)` either way. Partitions by taking a
// node's link down on the bridge; every namespace removed at the end, even
// after a failure, and those of earlier runs that crashed on the next run.

#include <cstddef>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace manta_test {

/// Why namespaces cannot be made here ("" when they can): not root, no
/// `ip` command, or the kernel refuses (a container without CAP_SYS_ADMIN).
/// Tests skip (exit code 77) with this text.
std::string netns_unavailable();

/// Why `netns_network::netem` cannot work here ("" when it can): neither
/// the kernel's netem qdisc (sch_netem) nor the fallback (iptables with
/// physdev, statistic and NFQUEUE, and libnetfilter_queue) is there.
std::string netem_unavailable();

/// Which of the two `netns_network::netem` uses here, in words (for a
/// test's or the benchmark's output).
std::string netem_kind();

class netem_relay;

/// Runs `cmd` with sh; throws std::runtime_error with the command and its
/// output when it fails. Returns its output.
std::string must_run(const std::string& cmd);

/// A network of `nodes` namespaces on one bridge. Names are
/// `manta-<pid>-<role>`, so runs side by side never meet, and a later run
/// removes those whose process is gone. Children spawned into it are
/// SIGKILLed and reaped before the namespaces go.
class netns_network {
public:
  /// Removes stale namespaces of crashed runs, then creates the bridge
  /// namespace and `nodes` node namespaces, node i at `ip(i)`. Throws
  /// std::runtime_error (after removing what it made) if a step fails.
  explicit netns_network(size_t nodes);
  ~netns_network();

  netns_network(const netns_network&) = delete;
  netns_network& operator=(const netns_network&) = delete;

  size_t size() const { return names_.size(); }
  /// Node i's namespace, e.g. "manta-4242-n1" (for `ip netns exec`).
  const std::string& name(size_t i) const { return names_.at(i); }
  /// Node i's address: 10.213.0.(i+1).
  static std::string ip(size_t i);

  /// Delays and drops node i's outgoing packets, e.g. "delay 2ms 1ms
  /// loss 1%" (replacing what was there): `tc netem` on its eth0, or the
  /// fallback on its bridge port where the kernel has no netem, which
  /// understands only delay, jitter and loss (std::invalid_argument,
  /// naming the part, for the rest).
  void netem(size_t i, const std::string& spec);
  /// Removes node i's netem.
  void clear_netem(size_t i);
  /// Packets the fallback's relay has held and let go (0 with kernel
  /// netem): a test's evidence that the delay was applied.
  size_t netem_released() const;
  /// Packets the kernel could not hand the relay (its socket buffer was
  /// full) and dropped: loss beyond the spec's, which a test reports.
  size_t netem_overruns() const;
  /// Packets the fallback's loss rule dropped, all nodes (0 with kernel
  /// netem).
  size_t netem_dropped() const;
  /// Cuts node i off: its link on the bridge goes down, so its packets are
  /// dropped silently both ways (connections see silence, not a reset).
  void partition(size_t i);
  /// Brings node i's link back up.
  void heal(size_t i);
  /// Cuts nodes i and j apart only (a packet filter in each namespace drops
  /// what arrives from the other, silently); each still reaches the
  /// other nodes, e.g. a worker the head still hears but a driver does not.
  void cut(size_t i, size_t j);
  /// Removes `cut(i, j)`'s filters.
  void mend(size_t i, size_t j);

  /// Moves the calling thread into node i's namespace: sockets it opens
  /// from now on, and threads it starts, live there (how a test process
  /// becomes a driver on node i). `leave` moves it back.
  void enter(size_t i);
  void leave();

  /// Starts `argv` (argv[0] a path; "/proc/self/exe" for this program) in
  /// node i's namespace with `env` added to this process's environment,
  /// its stdout and stderr in `log`; returns its pid. It dies with this
  /// process (PR_SET_PDEATHSIG) and with the network.
  pid_t spawn(size_t i, const std::vector<std::string>& argv, const std::string& log,
              const std::vector<std::string>& env = {});

  /// SIGKILLs a child spawned here and reaps it.
  void kill(pid_t pid);

  /// Deletes namespaces named manta-<pid>-* whose process no longer runs.
  static void remove_stale();

private:
  void remove_all() noexcept;

  std::string prefix_;
  std::vector<std::string> names_;
  std::vector<pid_t> children_;
  std::unique_ptr<netem_relay> relay_; // the fallback's, made on first use
  int home_ = -1; // the namespace `enter` left, for `leave`
};

} // namespace manta_test
