#pragma once

#include "manta/cluster/job_table.hpp"
#include "actors/token_gate.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/cluster/node_state.hpp"
#include "manta/net/wire.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace manta::actors {

/// One member's answer to a state query, as the head's dashboard shows it.
struct member_state {
  detail::wire::node_record record;
  /// "ALIVE" (it answered), "NOT_RESPONDING" (no answer in time, or an
  /// error: see `error`) or "DEAD" (it left the cluster).
  std::string state;
  std::string error;
  /// Its answer, when ALIVE.
  detail::node_state answer;
};

/// Every member's answer (live ones by index, then the departed).
using cluster_state_ptr = std::shared_ptr<const std::vector<member_state>>;

/// How long the head waits for members to answer a state query: a slow,
/// stopped or dying node shows as NOT_RESPONDING instead of holding the page.
inline constexpr std::chrono::milliseconds state_timeout{1500};

/// How long a head that recovered its state from the store keeps the
/// members it read back for them to rejoin (a little over their rejoin
/// window, `cluster::rejoin_window`, 30 s), before it forgets them.
inline constexpr std::chrono::seconds recovery_window{35};

/// Members that left, kept to be shown as DEAD (the latest ones).
inline constexpr size_t max_departed = 64;

struct cluster_registry_state {
  uint16_t next_index = 1;
  /// Live worker nodes by index.
  std::map<uint16_t, detail::wire::node_record> workers;
  /// Drivers, told about workers joining and leaving.
  std::map<uint16_t, caf::actor> drivers;
  /// Who is who, for down messages.
  std::map<caf::actor_addr, uint16_t> members;
  /// Every live member (workers and drivers) and the actor that answers
  /// state queries for it (node_manager or cluster_client).
  std::map<uint16_t, std::pair<detail::wire::node_record, caf::actor>> live;
  /// Members that left, oldest first.
  std::deque<detail::wire::node_record> departed;
  /// Where the state is kept beyond this process (null: in memory only,
  /// the single-machine default). See docs/cluster.md, "Head fault
  /// tolerance".
  std::shared_ptr<detail::head_store> store;
  /// Members read back from the store that have not rejoined yet: their
  /// indices are theirs (a newcomer never gets one) until `forget_atom`.
  std::map<uint16_t, detail::wire::node_record> recovered;
  /// Named actors on worker nodes, by (namespace, name), as their owners
  /// reported them.
  std::map<std::pair<std::string, std::string>, detail::named_actor_record> named;
  /// Every driver is a job: its id, where it runs, how it ended.
  job_table jobs;
  /// A write to the store failed: the whole state is written again with the
  /// next change (and the outage was logged once).
  bool store_behind = false;
  /// The cluster token every join and query must show.
  std::string token;
  /// Refuses joins and queries with another token and disconnects their
  /// senders.
  token_gate tokens;

  static inline const char* name = "manta.cluster_registry";
};

using cluster_registry_actor = caf::stateful_actor<cluster_registry_state>;

/// The head node's membership service, published with CAF's middleman.
/// Workers and drivers join with their NodeInfo and get an index (unique in
/// the cluster; the high bits of their object ids) and the list of live
/// workers; drivers then get every join and leave. A member is monitored:
/// when its connection drops (the process died, or the link broke) the
/// registry forgets it and tells the drivers at once. A worker whose link
/// broke joins again with the index it had (a NodeInfo with its index
/// set): taken back unless another live process has that index, and
/// announced to the drivers again. A restarted head takes its old workers
/// back the same way.
/// A join or query without `token` is refused with an error that tells the
/// refused process what to give; then its connection is closed (and the
/// refusal logged).
/// In-process, `(state_atom, token, StateQuery)` asks every live member for
/// its state (at most `state_timeout`) and answers a `cluster_state_ptr`:
/// what the head's dashboard shows (head_dashboard.hpp).
/// What a head started with a store read back from it (head_main).
struct registry_recovery {
  std::shared_ptr<detail::head_store> store;
  uint16_t next_index = 0;
  std::map<uint16_t, detail::wire::node_record> members;
  std::vector<detail::named_actor_record> named;
  uint32_t next_job = 0;
  std::vector<detail::job_record> jobs;
};

/// With `recovery.store` set, every change of membership and of named
/// actors is written to the store, and the members read back are taken
/// back as they rejoin (within the rejoin window, then forgotten).
/// Named actors: drivers report theirs (`actor_put_atom`, `actor_drop_atom`);
/// `actor_find_atom` answers where one lives. Jobs: `job_new_atom` registers
/// one before its driver runs, `job_end_atom` records its end, `jobs_atom`
/// lists the table (job_table.hpp).
caf::behavior cluster_registry(cluster_registry_actor* self, std::string token,
                               registry_recovery recovery = {});

} // namespace manta::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::actors::cluster_state_ptr)
