#include "manta/core/caf_config.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/cluster/cluster_tls.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/net/transport.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <algorithm>

namespace manta::detail {

namespace {

/// The most messages an actor handles before its scheduler thread moves on
/// to the next job (CAF's `scheduler.max-throughput`, unbounded by
/// default). Unbounded, an actor whose mailbox a producer keeps filling
/// holds its thread until the mailbox is empty; on a small machine a node
/// has one scheduler thread, and the jobs that deserialize the messages
/// arriving from other nodes (the BASP workers, delivered in order) wait
/// behind it. Seen as both workers "silent" for the connection timeout
/// while a driver submitted a million tasks: the cluster client handled a
/// million messages in one run of 9.5 s, and every pong waited for its end.
/// A hundred messages are a few milliseconds of this runtime's handlers at
/// most (a dispatched task costs the client 10-20 us); a yield costs one
/// queue operation.
constexpr size_t scheduler_max_throughput = 100;

} // namespace

std::unique_ptr<caf::actor_system_config>
make_caf_config(size_t scheduler_threads, bool networked, const tls_options& tls,
                const std::string& token, std::chrono::milliseconds connection_timeout) {
  // It carries the identity its TLS sessions present (cluster_tls.hpp).
  auto cfg = std::make_unique<tls_config>();
  // The middleman (and its I/O thread) only for nodes of a cluster: the
  // embedded single node stays exactly as it was.
  if (networked) {
    cfg->load<caf::io::middleman>();
    // A small task result's value beside its TaskResult (early_answer).
    cfg->add_message_type<wire::shared_bytes>("manta::shared_bytes");
    // A member's handshake gets as long as its own connect waits (and at
    // least the connection timeout): a loaded machine must not cut off a
    // peer that is merely slow, while a peer that never finishes is still
    // closed in bounded time.
    auto handshake_limit = std::max<std::chrono::milliseconds>(connection_timeout,
                                                               cluster::connect_timeout);
    if (auto err = configure_tls(*cfg, tls, token, handshake_limit); !err.empty())
      throw invalid_argument_error("manta: " + err);
    // A connection that hangs without closing (a partition, a frozen peer)
    // never gives CAF a down message by itself: with heartbeats on, the
    // BASP broker closes a connection it heard nothing on for the timeout,
    // on both ends, and the runtime handles it as a cut (reconnects).
    cfg->set("middleman.heartbeat-interval", caf::timespan{connection_timeout / 8});
    cfg->set("middleman.connection-timeout", caf::timespan{connection_timeout});
  }
  cfg->set("scheduler.max-threads", scheduler_threads);
  cfg->set("scheduler.max-throughput", scheduler_max_throughput);
  // CAF's default polling sleeps 50 us between attempts once the aggressive
  // phase is over, which adds up to 100 us to a hand-over to an idle node.
  // Poll briefly, then sleep on the condition variable that enqueueing
  // notifies. Longer polling measured slower here: on a small machine a
  // polling scheduler thread takes the core from the thread doing the work.
  cfg->set("work-stealing.aggressive-poll-attempts", size_t{100});
  cfg->set("work-stealing.moderate-poll-attempts", size_t{0});
  cfg->set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds{10}});
  cfg->set("logger.file-verbosity", caf::atom("quiet"));
  cfg->set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

std::chrono::milliseconds connection_timeout(const caf::actor_system& sys) {
  auto t = caf::get_or(sys.config(), "middleman.connection-timeout",
                       caf::timespan{default_connection_timeout});
  if (t.count() <= 0)
    return default_connection_timeout;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t);
}

} // namespace manta::detail
