#pragma once

#include "manta/observe/series.hpp"
#include "manta/net/wire.hpp"
#include "manta/resources.hpp"
#include "manta/state.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

/// One node's state as the head's dashboard collects it from every member
/// of a cluster (schemas/state.capnp; docs/observability.md, "Cluster
/// dashboard"): the head sends a `state_query`, the node's node_manager
/// answers with `take_node_state`, and the head merges the answers.
namespace manta::detail {

/// What the head asks for (schema::StateQuery).
struct state_query {
  enum section : uint32_t {
    tasks = 1,
    actors = 2,
    objects = 4,
    timeline = 8,
    memory_text = 16,
    metrics = 32,
    series = 64,
  };
  /// Bit set of `section`s wanted besides the summary.
  uint32_t sections = 0;
  /// Applies to the records of those sections; `limit` per section.
  list_filter filter;
  /// When non-zero: only the newest this many task records (by
  /// submission) and timeline runs (by start), as the dashboard asks.
  uint32_t newest = 0;
  /// A GET of the node's own state API for it to answer in
  /// `node_state::forwarded` (the head's logs view and detail page); the
  /// node answers only /api/log_lines and /api/task this way.
  std::string forward;
};

/// One node's answer (schema::NodeState).
struct node_state {
  /// "node-2 (pid 4242)", what the node's own records name in `node`.
  std::string name;
  /// "worker" or "driver".
  std::string role;
  uint32_t pid = 0;
  uint16_t index = 0;
  resource_map total;
  resource_map available;
  uint64_t queued_tasks = 0;
  uint64_t executor_threads = 0;
  /// By `task_state`: the tasks this node runs or ran, as far as its
  /// history reaches (each task counted once cluster-wide: on its node).
  std::array<uint64_t, 7> task_counts{};
  uint64_t actors = 0;
  uint64_t objects = 0;
  uint64_t bytes_in_memory = 0;
  uint64_t bytes_spilled = 0;
  uint64_t budget_bytes = 0;
  /// JSON objects (observe/json.hpp) of what the query asked for; objects
  /// carry an extra "node" field.
  std::vector<std::string> tasks;
  std::vector<std::string> actor_records;
  std::vector<std::string> object_records;
  /// Chrome trace events, comma-separated, without the enclosing array.
  std::string timeline_events;
  std::string memory_text;
  /// The node's Prometheus text (metrics::prometheus_text()), when asked.
  std::string metrics_text;
  /// "HOST:PORT" of the node's own dashboard; empty without one. Always sent.
  std::string dashboard;
  /// The node's samples for the graphs, oldest first (series.hpp).
  std::vector<series_sample> series;
  /// The answer to `state_query::forward`: body and HTTP status (0: none).
  std::string forwarded;
  uint16_t forwarded_status = 0;
};

/// This node's state: what it runs, hosts and stores. Records that name
/// another node (a driver's view of a task or actor placed on a worker)
/// are left out: that node reports them. Throws `not_initialized_error`
/// without a runtime.
node_state take_node_state(const state_query& q);

namespace wire {

bytes encode(const state_query& x);
bytes encode(const node_state& x);
/// Empty on success, else what was wrong (see wire.hpp).
std::string decode(std::span<const char> in, state_query& out);
std::string decode(std::span<const char> in, node_state& out);

} // namespace wire

} // namespace manta::detail
