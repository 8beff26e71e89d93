#pragma once

#include "manta/net/wire.hpp"
#include "manta/resources.hpp"

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <vector>

namespace manta::detail {

/// A driver's one list of the worker nodes it knows, with the record each
/// announced (address, resources, data port) and where its connection
/// stands. The driver's cluster client is its only writer: it adds a
/// worker the head announces, moves it between states as its connection
/// opens, closes and is opened again, and drops it when the head says it
/// left. Other threads read it through the cluster link (submit asks
/// whether any worker could run a task, the state API lists the workers)
/// under a shared lock; the writer reads the records it refers to without
/// one, as nothing else changes them.
///
/// The client keeps what only it uses (each connected node's manager,
/// heartbeats and load; each reconnect's attempts) in its own tables,
/// which refer to the records here: a record keeps its address until the
/// worker is dropped, and `put` updates it in place.
class worker_list {
public:
  /// Where a worker's connection stands.
  enum class link_state {
    connecting,   ///< announced, the first connection not open yet
    connected,    ///< connected: tasks and actors are placed there
    reconnecting, ///< its connection closed while the head lists it
  };

  /// Writer: adds worker `rec.index` in state `s`, or updates its record
  /// and state. Returns its record, at the same address until `drop`.
  const wire::node_record& put(const wire::node_record& rec, link_state s);

  /// Writer: moves worker `index` (in the list) to state `s`.
  void set_state(uint16_t index, link_state s);

  /// Writer: forgets worker `index` (the head said it left, or the driver
  /// gave up on it).
  void drop(uint16_t index);

  /// Whether some connected or reconnecting worker offers `d` in total: the
  /// head still lists one being reconnected, and a task only it fits waits
  /// for it in placement rather than failing at submit as if it could
  /// never run.
  bool feasible(const resource_demand& d) const;

  /// Total resources of the connected workers.
  resource_map connected_totals() const;

  /// The connected workers' records.
  std::vector<wire::node_record> connected() const;

  /// The number of connected workers.
  size_t num_connected() const;

private:
  struct entry {
    wire::node_record info;
    link_state state = link_state::connecting;
  };

  mutable std::shared_mutex mtx_;
  std::map<uint16_t, entry> entries_;
};

} // namespace manta::detail
