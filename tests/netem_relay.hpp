#pragma once

// Delay and jitter for the netns harness (tests/netns.hpp) where the kernel
// has no netem qdisc (sch_netem; e.g. a Firecracker VM's kernel built
// without it). A packet-level stand-in, not a byte-stream one: iptables
// rules in the bridge's namespace send the IP packets a node puts on the
// bridge to an NFQUEUE queue; the kernel holds each one while this relay,
// a thread of the test process, waits delay ± jitter (uniform, as netem's
// default) and then lets it go on. The sender's TCP saw its packet leave,
// so it measures the real round trip; reordering by jitter happens as
// with netem. Loss is not done here: a kernel rule (`-m statistic --mode
// random`) drops the packets on the bridge, after they left the sender,
// so TCP sees real loss and retransmits.
//
// What it does not emulate: non-IP frames (ARP) are not delayed; only
// `delay`, its jitter and `loss` of netem's options are understood (a
// spec with any other is refused); the relay's own scheduling on a busy
// machine adds to the delay (tens of microseconds, more under load).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace manta_test {

/// The parts of a netem spec the fallback understands.
struct netem_spec {
  std::chrono::microseconds delay{0};
  std::chrono::microseconds jitter{0};
  double loss = 0; // a probability, 0..1
};

/// Parses "delay 2ms 0.5ms loss 1%" (units us, ms, s; loss in %). Throws
/// std::invalid_argument naming the part it does not understand, with a
/// hint, for anything else (e.g. "corrupt", "rate", a correlation).
netem_spec parse_netem(const std::string& spec);

/// Whether this build has the relay (libnetfilter_queue was found).
bool netem_relay_built();

/// The thread that holds queued packets: queue i is node i's. Made by the
/// harness on the first `netem` without kernel netem.
class netem_relay {
public:
  /// Binds queues 0..queues-1 in namespace `ns` (the bridge's); throws
  /// std::runtime_error if the kernel refuses.
  netem_relay(const std::string& ns, size_t queues);
  /// Stops the thread; packets still held are dropped by the kernel.
  ~netem_relay();

  netem_relay(const netem_relay&) = delete;
  netem_relay& operator=(const netem_relay&) = delete;

  /// Delay and jitter for packets queued on `queue` from now on.
  void set(size_t queue, std::chrono::microseconds delay, std::chrono::microseconds jitter);

  /// Packets the relay held and let go, and those the kernel could not
  /// hand it (its socket buffer full: they were dropped, extra loss).
  size_t released() const;
  size_t overruns() const;

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace manta_test
