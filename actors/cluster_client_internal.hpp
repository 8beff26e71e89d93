#pragma once

#include "actors/cluster_client.hpp"
#include "manta/net/shared_bytes.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

/// What the files of the driver's cluster client call across each other
/// (the public pieces are in cluster_client.hpp): cluster_client.cpp holds
/// the behavior and handles results; the files named below hold the other
/// roles. Used by those files alone.
namespace manta::actors {

/// The client actor as its files' functions take it, and the bytes of an
/// encoded message.
using self_ptr = cluster_client_actor*;
using bytes_t = detail::wire::bytes;

// -- task_placement.cpp: placing tasks on workers ------------------------------

/// Fails placed task `p` (result `id`), `why` saying what happened to it
/// ("was lost: ..."); for a rebuild, the fetch that waits for it.
void fail_placed(cluster_client_actor* self, uint64_t id, placed_task& p, const std::string& why);

/// Places the waiting tasks that fit now, group by group.
void place_waiting(cluster_client_actor* self);

/// Places task `id` (in `placed`), or queues it in its waiting group.
void place_or_wait(cluster_client_actor* self, uint64_t id);

/// The live nodes holding object `id` with a raw data path: `first` (its
/// home: the node that made it, or this one) if alive, then its copies.
std::vector<uint16_t> holders_of(cluster_client_actor* self, uint64_t id, uint16_t first);

/// Where `node` serves object bytes.
detail::wire::holder holder_info(cluster_client_actor* self, uint16_t node);

/// A task the local node has no room for: encode its arguments (fetching
/// object arguments that live on other nodes) and place it. `before`: the
/// task's earlier placement when it is prepared again, whose attempts and
/// node losses still count.
void dispatch(cluster_client_actor* self, detail::task_ptr t, const placed_task* before = nullptr);

// -- remote_cancel.cpp: cancels that cross nodes -------------------------------

/// The owner cancelled task or actor call `id`: if it was sent to a worker
/// (a placed task, a call of an actor there), that worker is told.
void forward_cancel(cluster_client_actor* self, uint64_t id, bool force, bool recursive);

// -- work_stealing.cpp: tasks queued on workers, taken back for idle nodes ---

/// Worker `node` says which of this driver's tasks queue there for
/// resources and which of those started (TaskQueue).
void on_queue_news(cluster_client_actor* self, uint16_t node, const detail::wire::bytes& bytes);

/// If a node (a worker, or this one) has a free CPU while tasks of this
/// driver queue on another, asks that one to give back half of its queue
/// (the tasks whose large arguments are not there).
void steal_for_idle(cluster_client_actor* self);

/// Worker `node` gave back these queued tasks: placed again (here first
/// when this node has room).
void on_stolen(cluster_client_actor* self, uint16_t node, const detail::wire::bytes& bytes);

// -- object_fetches.cpp: fetching objects and tracking their copies ------------

/// Tells `node` to drop its copy of `id`.
void free_on(cluster_client_actor* self, uint16_t node, uint64_t id);

/// The owner's record of the result of placed task `p` that its worker
/// keeps (`size` encoded bytes), with its lineage (the spec, taken from
/// `p`) and, where keeps_arguments (object_loss.hpp) allows, the arguments
/// its task read by reference kept alive for its rebuild.
detail::remote_ptr held_result(cluster_client_actor* self, placed_task& p, uint64_t size);

/// Rebuilds a lost object by re-running its task on a live node, its lost
/// arguments kept for it rebuilt first.
void rebuild(cluster_client_actor* self, uint64_t fetch_id);

/// Starts (or restarts) fetching from the object's holders (the node that
/// made it and the nodes that copied it), rebuilding it first if none is
/// left.
void start_fetch(cluster_client_actor* self, uint64_t fetch_id);

/// The raw data path answered; on failure the object is read again as
/// ObjectChunk messages (if its node died, its down message restarts the
/// fetch anyway).
void on_fetched(cluster_client_actor* self, uint64_t fetch_id, uint32_t attempt,
                const std::string& err, detail::wire::bytes& data);

/// Starts fetch `fetch_id` over from the object's current home (moved by
/// a rebuild or a re-run), for everyone waiting for its bytes or its place.
void refetch(self_ptr self, uint64_t fetch_id);

/// A borrower's node asks, as the owner of object `id`, where its bytes are
/// now (its holder could not serve them): `answer` gets an encoded ref wire
/// (borrowers.hpp) naming a live holder, or the bytes, or why it is lost.
void where_for_borrower(self_ptr self, uint64_t id, std::function<void(std::vector<char>)> answer);

/// Hands the fetched bytes to everyone waiting for them.
void complete_fetch(cluster_client_actor* self, uint64_t fetch_id, detail::wire::bytes& data);

/// Tells everyone waiting for the fetch why it failed.
void fail_fetch(cluster_client_actor* self, uint64_t fetch_id, const std::string& why);

/// An ObjectChunk arrived: appended, then the next ones are asked for.
void on_chunk(cluster_client_actor* self, uint64_t fetch_id, const detail::wire::bytes& chunk);

/// Frees the copies of objects this driver let go of (its own objects have
/// no free message of their own; results on workers are freed at once).
void free_copies_let_go(cluster_client_actor* self);

/// A node reports that it now holds a copy of one of this driver's
/// objects, or that it no longer does.
void on_copy(cluster_client_actor* self, uint16_t node, const detail::wire::bytes& bytes);

// -- generator_rebuild.cpp: rebuilding lost items of generator tasks ----------

/// The id the node holding object `id` keeps its bytes under (another
/// than `id` for a generator item a re-run rebuilt).
uint64_t held_id(cluster_client_actor* self, uint64_t id);

/// A large item (index `index`) of generator `task` arrived, kept on worker
/// `from` as `object`: it replaces a lost item of that index, is dropped if
/// a re-run yielded it and nothing lost it, or else goes to the stream
/// (with the task's lineage, for a task this driver placed).
void on_stored_item(cluster_client_actor* self, uint64_t task, uint64_t index, uint16_t from,
                    uint64_t object, uint64_t size, const caf::actor& sender);

/// The same for an item that travelled inline; `held` is the container
/// pinning its refs on the sender (0: none), let go once it is decoded or
/// dropped.
void on_inline_item(cluster_client_actor* self, uint64_t task, uint64_t index,
                    const detail::wire::bytes& bytes, uint64_t held, const caf::actor& sender);

/// For `rebuild`: if the fetched object is a generator task's large item,
/// re-runs the task (while its retries last) or waits for a run under way,
/// or fails the fetch saying no retries are left; true. False for any
/// other object.
bool rebuild_item(cluster_client_actor* self, uint64_t fetch_id);

/// A run of generator task `task` ended (`rerun`: one of this driver's
/// re-runs to rebuild items): the reads still waiting for one of its lost
/// items start over (`again`: a new run while retries last) or fail,
/// saying the re-run `why` ("ended", "failed: ...").
void generator_run_ended(cluster_client_actor* self, uint64_t task, bool rerun, bool again,
                         const std::string& why);

// -- worker_links.cpp: connections, heartbeats, reconnects, node failures ------
// (what they keep about each worker's link is node_links.hpp's)

/// Worker `index` is gone (dead or cut off): its work goes elsewhere; its
/// actors die (and restart) saying "its node node-N <why>".
void node_lost(cluster_client_actor* self, uint16_t index, const std::string& why = "died");

/// The head says worker `index` left. If it lives and is still connected
/// here (only its link to the head broke), this driver closes its
/// connection too, so that what the worker holds for the driver (hosted
/// actors, running tasks) goes with the work placed elsewhere. Call before
/// `node_lost`.
void cut_off(cluster_client_actor* self, uint16_t index);

/// The down message of a node manager being cut off (true), after which a
/// NodeInfo the head sent meanwhile is connected; false for other actors.
bool cut_off_done(cluster_client_actor* self, const caf::actor_addr& source);

/// Connects to a worker the head announced (and attaches it); one being
/// cut off is connected once its old connection is gone.
void connect(cluster_client_actor* self, const detail::wire::node_record& rec);

/// A worker came back or will not: what waited for it is placed, or
/// fails if nothing can run it any more.
void reconnect_ended(cluster_client_actor* self);

/// The connection to worker `index` closed. CAF cannot tell a cut
/// connection from a dead process, so the worker's work goes elsewhere
/// (node_lost); but while the head has not said it left, it may be alive
/// behind a broken link: the driver connects to it again, the first time
/// after `first_try`. `why` says what happened, for the log.
void connection_lost(cluster_client_actor* self, uint16_t index, const char* why,
                     std::chrono::milliseconds first_try = reconnect_delay);

/// One try to connect again to a worker whose connection closed; on
/// success it is a worker like any other again (with none of its old work:
/// that was placed elsewhere when the connection closed).
void reconnect(cluster_client_actor* self, uint16_t index);

// -- head_link.cpp: the connection to the head ---------------------------------

/// The connection to the head closed (a cut or silent link, or the head
/// died): the workers keep running this driver's work; the driver joins the
/// head again under its index, for up to `cluster::rejoin_window`.
void head_lost(cluster_client_actor* self);

/// One try to join the head again; on success, connects to the workers it
/// lists that this driver does not know (joined while it was away).
void rejoin_head(cluster_client_actor* self);

// -- cluster_bundles.cpp: placement groups laid out over the nodes --------------

/// Sets up the reservation steps of placement groups
/// (placement/bundle_reservations.hpp) with this client as their port:
/// prepare, commit and release are messages to node managers (this node's
/// own `hosted_bundles` called directly), retries a timer of this actor.
/// A worker that is gone: `bundles->node_lost` before its tasks and actors
/// are placed elsewhere.
void start_bundles(cluster_client_actor* self);

// -- worker_links.cpp (continued) ---------------------------------------------

/// "; this driver did not run for N ms ..." if this actor's heartbeat came
/// later than the connection timeout allows (the process was stopped or
/// starved: its peers have closed its links) up to twice the connection
/// timeout ago, else "": appended to why its workers were lost.
const std::string& own_stall(cluster_client_actor* self);

/// Closes the connections of workers silent for the connection timeout
/// (their work goes elsewhere, and they are reconnected as after a cut) and
/// pings the others.
void heartbeat(cluster_client_actor* self);

// -- cluster_client.cpp: results -----------------------------------------------

/// Seals task `t`'s successful inline value `value` (`beside`: the bytes it
/// came with apart, moved in for a `std::vector<char>` result), sent by
/// `node` for task `id`; refs read inside it are reported read to `node`.
/// The client's thread or a lane's reader (defined in lane_driver.cpp).
void seal_inline_value(detail::task_spec& t, std::span<const char> value,
                       const detail::wire::shared_bytes* beside, uint16_t node, uint64_t id);

/// The books of a placed task `p` (`id`) whose answer came: its node's
/// CPUs and queue, and the copies it was to read.
void settle_placed(cluster_client_actor* self, uint64_t id, const placed_task& p);

// -- the direct task lane (task_lanes.cpp) ----------------------------------------

/// Worker `index` was attached: with the lane on, opens its task lane.
void start_lane(cluster_client_actor* self, uint16_t index);

/// Writes placed task `id`'s spec on worker `index`'s task lane, its
/// entry in the lanes' claims first (task_lanes.hpp); false if the lane is
/// off, not up or failed (the spec goes the usual way).
bool lane_spec(cluster_client_actor* self, uint16_t index, uint64_t id, const placed_task& p);

/// A lane's reader sealed the value of task `id`, sent to `node` as its
/// dispatch `dispatch`: the books of that dispatch (`end_sealed`), unless
/// the client ended it meanwhile.
void lane_sealed(cluster_client_actor* self, uint16_t node, uint64_t id, int dispatch);

/// The books of placed task `p` (`id`), ended by an answer the client did
/// not seal itself: `settle_placed`, a generator's lineage, then the
/// waiting tasks.
void end_sealed(cluster_client_actor* self, uint64_t id, const placed_task& p);

/// Worker `node`'s lane `key` ended without the client shutting it (a
/// reset, a failed write): dropped, a new lane opened after a backoff
/// (`reopen_lane`) and, once the node answers that it outlived the lane
/// (else its loss places them again), each task still placed there by the
/// lane sent again over CAF (a retry, while `max_retries` lasts). A retired
/// lane's end resends its own tasks only: the node's new lane goes on.
void lane_down(cluster_client_actor* self, uint16_t node, uint64_t key);

/// Once worker `node` answers a ping (it outlived its lane `key`, which
/// ended), the tasks still placed there by that lane are sent again over
/// CAF (`lane_down`), `note` logged first if not empty.
void resend_when_answered(cluster_client_actor* self, uint16_t node, uint64_t key,
                          const std::string& note);

// -- lane_submit.cpp: tasks a submitting thread wrote on a lane ------------------

/// Books the tasks submitting threads wrote on lanes since the client
/// last looked (lane_door.hpp), then tells the door how the workers stand.
/// Called first by every handler of a message that may concern such a
/// task (its answer, its node's or lane's loss, its cancel, a queue report,
/// a steal), and by the heartbeat. Does nothing with the lane off.
void lane_door_sync(cluster_client_actor* self);

/// Tells the lane door how the workers stand now (lane on): called where
/// the client's view of them changes (a worker attached or lost, a lane
/// opened, tasks placed or ended), so a submitting thread chooses as the
/// client would now.
void lane_door_publish(cluster_client_actor* self);

/// Task `id`, written on worker `index`'s lane by a submitting thread and
/// booked after that worker was lost: as `node_lost` does with each of its
/// tasks (worker_links.cpp).
void lost_before_booked(cluster_client_actor* self, uint64_t id, uint16_t index);

/// Each heartbeat (lane on): a lane that read nothing (no answer, no pong)
/// for the connection timeout while its node's CAF connection was heard
/// within it is reset (its reader ends: `lane_down`); every other lane up
/// is pinged. Retired lanes with no task out are closed, the others checked
/// and pinged the same way.
void lanes_heartbeat(cluster_client_actor* self, std::chrono::steady_clock::time_point now);

/// Opens worker `node`'s lane again after `lane_down`'s backoff, if the
/// node is still connected and has none.
void reopen_lane(cluster_client_actor* self, uint16_t node);

/// Writes a cancel of task `id` on worker `index`'s task lane; false if it
/// could not.
bool lane_cancel(cluster_client_actor* self, uint16_t index, uint64_t id, bool force,
                 bool recursive);

} // namespace manta::actors
