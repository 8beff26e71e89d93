#pragma once

#include "actors/token_gate.hpp"
#include "manta/detail/wire.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <string>

namespace manta::actors {

struct cluster_registry_state {
  uint16_t next_index = 1;
  /// Live worker nodes by index.
  std::map<uint16_t, detail::wire::node_record> workers;
  /// Drivers, told about workers joining and leaving.
  std::map<uint16_t, caf::actor> drivers;
  /// Who is who, for down messages.
  std::map<caf::actor_addr, uint16_t> members;
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
/// when its connection drops (the process died) the registry forgets it
/// and tells the drivers at once.
/// A join or query without `token` is refused with an error that tells the
/// refused process what to give; then its connection is closed (and the
/// refusal logged).
caf::behavior cluster_registry(cluster_registry_actor* self, std::string token);

} // namespace manta::actors
