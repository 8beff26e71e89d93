#pragma once

#include "manta/cluster/outbox.hpp"
#include "actors/fetch_table.hpp"
#include "actors/head_link.hpp"
#include "actors/node_links.hpp"
#include "actors/object_directory_actor.hpp"
#include "actors/placed_tasks.hpp"
#include "actors/rebuild_records.hpp"
#include "actors/task_lanes.hpp"
#include "actors/remote_actors.hpp"
#include "actors/token_gate.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/cluster/node_choice.hpp"
#include "manta/cluster/reconnect_rule.hpp"
#include "manta/placement/bundle_reservations.hpp"
#include "manta/placement/placement_groups.hpp"
#include "manta/cluster/remote_actor.hpp"
#include "manta/cluster/remote_object.hpp"
#include "manta/cluster/worker_list.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/net/wire.hpp"

#include <caf/actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace manta::detail {
class cluster;
}

namespace manta::actors {

class lane_door;

/// Lets threads reading objects over the raw data path report to the
/// client only while it lives.
struct transfer_gate {
  std::mutex mtx;
  bool open = true;
};

struct cluster_client_state {
  detail::cluster* link = nullptr;
  /// How long a worker may stay silent (the connection timeout), and how
  /// often it is pinged.
  std::chrono::milliseconds silence_limit{};
  std::chrono::milliseconds ping_interval{};
  /// When the heartbeat last ran: a longer gap than the connection timeout
  /// means this process did not run (stopped, starved), and its peers have
  /// closed its links (`own_stall`).
  std::chrono::steady_clock::time_point last_tick;
  /// The last such stall, said when its losses are reported, and when.
  std::string stall_note;
  std::chrono::steady_clock::time_point stall_seen;
  /// Error messages from peers ignored so far (the first few are logged).
  size_t errors_ignored = 0;
  /// The links to the workers: those being connected or connected, being
  /// reconnected or cut off, their losses and the joins waiting for them;
  /// it keeps the one worker list the cluster link shares in step
  /// (node_links.hpp).
  node_links nodes;
  /// Tasks on their way to workers: being prepared, placed or waiting for
  /// room (placed_tasks.hpp).
  placed_tasks tasks;
  /// Fetches of objects' bytes under way (fetch_table.hpp).
  fetch_table fetches;
  /// Generator items' lineages, their re-runs, and the nodes that rebuilt
  /// an object inline (rebuild_records.hpp).
  rebuild_records rebuilds;
  /// Where copies of this driver's objects live (besides their first home):
  /// the object directory actor, spawned linked to this one, which the
  /// copy reports, task ends and node losses go to as messages; and the
  /// door to its directory for the placement and fetch steps that read at
  /// once what they wrote (object_directory_actor.hpp says why).
  caf::actor directory;
  std::shared_ptr<directory_door> copies = std::make_shared<directory_door>();
  /// Actors placed on workers, their calls on the way and creations
  /// waiting for a worker (remote_actors.hpp).
  remote_actors actors;
  /// The head's registry (a member of it: told of workers joining and
  /// leaving), and the driver's tries to join it again after its
  /// connection closed (head_link.hpp).
  head_link head;
  /// Drops messages with a wrong token and disconnects their senders.
  token_gate tokens;
  std::shared_ptr<transfer_gate> gate = std::make_shared<transfer_gate>();
  /// TaskSpecs (tasks and actor calls) on their way to workers.
  outbox specs;
  /// Placement groups laid out over the cluster's nodes: the reservation
  /// steps, and this client as their port (cluster_bundles.cpp).
  std::unique_ptr<detail::bundle_reservations::port> bundle_port;
  std::unique_ptr<detail::bundle_reservations> bundles;
  /// The task lanes to the workers (MANTA_TASK_LANE=1; task_lanes.hpp):
  /// last, so their readers end before the rest goes.
  task_lanes lanes;
  /// The submitting threads' way onto the lanes (lane_door.hpp; null with
  /// the lane off): the tasks written through it are booked by
  /// `lane_door_sync`, first in each handler that may concern them.
  std::shared_ptr<lane_door> door;

  cluster_client_state() = default;
  cluster_client_state(const cluster_client_state&) = delete;
  cluster_client_state& operator=(const cluster_client_state&) = delete;
  ~cluster_client_state();

  static inline const char* name = "manta.cluster_client";
};

using cluster_client_actor = caf::stateful_actor<cluster_client_state>;

/// How often the driver pings every worker (at most; a quarter of the
/// connection timeout if that is shorter). A closed connection is noticed
/// at once (a down message); the pings, and CAF's heartbeats below them,
/// catch a node that hangs with its connection open (stopped, swapping,
/// partitioned): one silent for the connection timeout
/// (`init_options::connection_timeout`) is cut off and reconnected.
inline constexpr auto heartbeat_interval = std::chrono::milliseconds{500};

/// Reconnecting to a worker whose connection closed (cluster/reconnect_rule.hpp,
/// the rule the simulator follows too).
using detail::reconnect_delay;
using detail::reconnect_max_delay;
using detail::reconnect_timeout;
using detail::reconnect_window;

/// A worker node is given tasks while its tasks in flight hold at most this
/// many times its CPUs (the excess queues there, hiding the round trip, and
/// travels in batches). Measured with tools/cluster_benchmark, two 1-CPU
/// workers: 2 -> 11 k tasks/s, 16 -> 31-43 k/s, 32 -> 50-59 k/s, 64 ->
/// 75-88 k/s (with batches). Placement still picks the least-loaded node;
/// the cost is more re-runs when a node dies (its whole window).
inline constexpr double remote_queue_factor = 64.0;

/// Object arguments at least this large (encoded) are not inlined in a
/// TaskSpec: the receiving node reads them from the node holding them.
inline constexpr size_t arg_ref_bytes = 1024 * 1024;


// -- shared with cluster_actors.cpp and the client's other files ---------------

/// Whether `n` offers `d` in total.
bool fits_total(const remote_node& n, const detail::resource_demand& d);

/// Books (`sign` 1) or returns (-1) `d` on the driver's view of `n`.
void hold(remote_node& n, const detail::resource_demand& d, double sign);

/// Brings a remote object's bytes here; `cb` gets them or why not.
void fetch(cluster_client_actor* self, const detail::remote_ptr& obj, fetch_callback cb);

/// Finds a live node holding a remote object's bytes, rebuilding it from
/// its lineage first if none is left (as `fetch` does), without reading
/// them; `cb` gets where, or the bytes a rebuild sent back inline, or why
/// not.
void locate(cluster_client_actor* self, const detail::remote_ptr& obj, locate_callback cb);

/// Queues a TaskSpec for a worker's node manager (sent in a batch).
void send_spec(cluster_client_actor* self, const caf::actor& manager, detail::wire::bytes spec);

/// The driver's side of the cluster: connects to every worker (and monitors
/// it), places tasks on workers with room, seals results into the owner's
/// slots, fetches large results in chunks, and handles node failure:
/// in-flight tasks are resubmitted (up to max_retries), fetches of objects
/// whose node died rebuild them by re-running their task, and whatever
/// cannot succeed fails with object_lost_error instead of hanging.
caf::behavior cluster_client(cluster_client_actor* self, detail::cluster* link);

} // namespace manta::actors
