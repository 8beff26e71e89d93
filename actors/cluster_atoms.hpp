#pragma once

#include "actors/atoms.hpp"
#include "manta/cluster/remote_actor.hpp"
#include "manta/cluster/remote_object.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <memory>

/// Message tags only the cluster's actors exchange: between nodes, and
/// between a node's cluster actors inside one process. The tags the local
/// core sends are in atoms.hpp.
namespace manta::actors {

// -- between nodes (payloads are Cap'n Proto bytes, see schemas/) ------------
// Every one of these carries the cluster token (a std::string) right after
// the atom; receivers drop messages with another (cluster_token.hpp).

/// node or driver -> cluster_registry: (NodeInfo, member actor) -> (ClusterView);
/// the member (node_manager or cluster_client) is monitored and told.
using join_atom = caf::atom_constant<caf::atom("join")>;
/// anyone -> cluster_registry: () -> (ClusterView) of the live workers.
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
/// cluster_registry -> drivers: a worker joined (NodeInfo).
using node_add_atom = caf::atom_constant<caf::atom("node_add")>;
/// cluster_registry -> drivers: the worker with this index left.
using node_del_atom = caf::atom_constant<caf::atom("node_del")>;
/// driver -> node_manager: run this TaskSpec.
using submit_atom = caf::atom_constant<caf::atom("submit")>;
/// node_manager -> driver: a TaskResult.
using result_atom = caf::atom_constant<caf::atom("result")>;
/// driver -> node_manager: a Batch of TaskSpecs, run in order.
using submits_atom = caf::atom_constant<caf::atom("submits")>;
/// node_manager -> driver: a Batch of TaskResults.
using results_atom = caf::atom_constant<caf::atom("results")>;
/// driver -> node_manager: (fetch id, object id, offset, length).
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
/// node_manager -> driver: (fetch id, ObjectChunk).
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
/// node_manager -> driver: (fetch id, reason): the object is not here.
using missing_atom = caf::atom_constant<caf::atom("missing")>;
/// driver -> node_manager: the owner dropped this object.
using free_atom = caf::atom_constant<caf::atom("free")>;
/// node_manager -> owner: (ObjectCopy) this node now holds a copy of the
/// object, or no longer does. In-process: a task reading an argument ->
/// its node manager: (owner, object id, size, held).
using copy_atom = caf::atom_constant<caf::atom("copy")>;
/// driver -> node_manager: (token) are you there? Answered with a pong.
/// (token, lane key): a request answered with true, once a driver's task
/// lane to the node ended (`lane_down`): the node outlived its lane.
using ping_atom = caf::atom_constant<caf::atom("ping")>;
/// node_manager -> driver: the answer to a ping.
using pong_atom = caf::atom_constant<caf::atom("pong")>;
/// driver -> node_manager: host this ActorSpec; answered with ActorCreated.
/// In-process: remote_actor -> cluster_client: place this actor.
using actor_create_atom = caf::atom_constant<caf::atom("actcreate")>;
/// node_manager -> driver: (ActorCreated).
using actor_created_atom = caf::atom_constant<caf::atom("actcreated")>;
/// driver -> node_manager: (actor id): drop that actor (killed, or its
/// owner let go of it).
using actor_kill_atom = caf::atom_constant<caf::atom("actkill")>;
/// node_manager -> driver: (actor id, cause): that actor died for good.
using actor_dead_atom = caf::atom_constant<caf::atom("actdead")>;
/// head -> node_manager (a driver's cluster_client hands it on to its
/// own): (StateQuery) -> (NodeState), for the head's dashboard.
using state_atom = caf::atom_constant<caf::atom("state")>;
/// node_manager -> driver: a LogBatch, lines the driver's tasks printed
/// there (always before those tasks' results).
using logs_atom = caf::atom_constant<caf::atom("logs")>;
/// node_manager -> owner: (token, task id, index, encoded item), an item a
/// streaming generator the owner sent there yielded (always before that
/// task's result), or (token, task id, index, object id, size) for a large
/// one kept there, or from a driver to a worker that called its actor
/// through a lent handle (token, task id, index, object id, size, data
/// host, data port). In-process: the generator's thread -> its node
/// manager: (owner, task id, index, encoded item | object id, size [, data
/// host, data port]).
using item_atom = caf::atom_constant<caf::atom("genitem")>;
/// owner -> borrower node: (token, encoded ref wire): where an object whose
/// ref was pending when lent is now (borrowers.hpp, ref_resolved).
using ref_ready_atom = caf::atom_constant<caf::atom("refready")>;
/// A borrower's thread -> its node manager: (owner node, object id); the
/// node manager -> that owner: (token, object id). Answered with an encoded
/// ref wire: where the object's bytes are now, after the holder its ref
/// named could not serve them (the owner rebuilds it from its lineage if
/// no copy is left), or why it is lost (cluster/owner_where.hpp).
using ref_where_atom = caf::atom_constant<caf::atom("refwhere")>;
/// driver -> cluster_registry: (named-actor record, JSON of head_store.hpp):
/// one of its named actors lives on that node now (created or restarted).
using actor_put_atom = caf::atom_constant<caf::atom("actput")>;
/// driver -> cluster_registry: (namespace, name, actor id): that actor is
/// gone (dropped unless the record names another id).
using actor_drop_atom = caf::atom_constant<caf::atom("actdrop")>;
/// anyone -> cluster_registry: (namespace, name) -> (named-actor record):
/// where the named actor lives and which driver owns it. In-process, to a
/// driver's cluster client: (named_request_ptr), asked of the head (or the
/// kill of an attached handle's actor, attached_actor.hpp).
using actor_find_atom = caf::atom_constant<caf::atom("actfind")>;
/// `manta job submit` -> cluster_registry: (token, entrypoint, host) ->
/// (job id): a job registered before its driver starts (MANTA_JOB_ID).
using job_new_atom = caf::atom_constant<caf::atom("jobnew")>;
/// job supervisor or a driver that shuts down -> cluster_registry: (token,
/// job id, state, detail) -> (bool): the job runs (RUNNING) or how it
/// ended (FINISHED, FAILED, STOPPED).
using job_end_atom = caf::atom_constant<caf::atom("jobend")>;
/// anyone with the token -> cluster_registry: (token) -> (JSON array of the
/// job table, job_table.hpp).
using jobs_atom = caf::atom_constant<caf::atom("jobs")>;
/// cluster_registry -> itself: forget the members read back from the store
/// that did not rejoin within the rejoin window.
using forget_atom = caf::atom_constant<caf::atom("forget")>;

// -- in-process cluster messages ----------------------------------------------

/// task_runner -> cluster_client: place this task on some node.
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
/// remote_actor -> cluster_client: send this call to the actor's node.
using actor_call_atom = caf::atom_constant<caf::atom("actcall")>;
/// transfer thread -> cluster_client: (fetch id, attempt, error, bytes).
using fetched_atom = caf::atom_constant<caf::atom("fetched")>;
/// cluster_client -> itself: time to ping the workers and judge the silent.
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
/// cluster_client -> itself: try again to connect to a worker whose
/// connection closed while the head still lists it.
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
/// cluster_client -> itself: try again to join the head, whose connection
/// closed.
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>;
/// remote task's result slot -> node_manager: the task with this id is done.
using done_atom = caf::atom_constant<caf::atom("done")>;
/// an actor -> itself: send what the burst just handled queued (batches
/// of specs or results); log_shipper -> node_manager: send the waiting
/// lines to their owners.
using flush_atom = caf::atom_constant<caf::atom("flush")>;
/// node_manager -> owner: which of the owner's tasks queue there for
/// resources and which of those started (TaskQueue).
using tqueue_atom = caf::atom_constant<caf::atom("tqueue")>;
/// node_manager -> itself: tell the owners about their queued and started
/// tasks (`due` true), or a task started and a report should be planned.
using qreport_atom = caf::atom_constant<caf::atom("qreport")>;
/// owner -> node_manager: give back queued tasks that have not started
/// (work stealing); node_manager -> owner: `stolen_atom`, the ones given back.
using steal_atom = caf::atom_constant<caf::atom("steal")>;
using stolen_atom = caf::atom_constant<caf::atom("stolen")>;
/// node_manager -> itself: the grace after an owner's connection closed
/// passed; drop what it left here unless it came back (owner_book.hpp).
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

// -- the object directory actor (object_directory_actor.hpp), in-process ------

/// any actor -> object directory actor (the client adds through its door:
/// object_directory_actor.hpp): (object id, node, alive) `node` holds or is
/// reading a copy; `alive` (a weak pointer to the object's slot) ends the
/// record with it.
using copy_add_atom = caf::atom_constant<caf::atom("copyadd")>;
/// cluster_client -> object directory actor: (object id, node) -> (bool)
/// `node` reported it holds a copy; false if the owner no longer tracks the
/// object (the node frees it).
using copy_held_atom = caf::atom_constant<caf::atom("copyheld")>;
/// cluster_client -> object directory actor: (object id, node) `node`
/// reported it dropped its copy.
using copy_gone_atom = caf::atom_constant<caf::atom("copygone")>;
/// cluster_client -> object directory actor: (object id, node) the task that
/// made `node` a holder ended: unless it reported its copy, `node` is none.
using copy_settle_atom = caf::atom_constant<caf::atom("copysettle")>;
/// any actor -> object directory actor (the client looks up through its
/// door): (object id) -> (std::vector<uint16_t>) the nodes holding copies, in
/// the order they were added.
using copies_atom = caf::atom_constant<caf::atom("copies")>;
/// cluster_client -> object directory actor: (node) the node was lost: it
/// holds no copies any more.
using node_lost_atom = caf::atom_constant<caf::atom("nodelost")>;
/// any actor -> object directory actor (the client frees through its door):
/// (object id) -> (std::vector<uint16_t>) the owner freed the object:
/// forgotten; the nodes whose copies are to be freed.
using copy_erase_atom = caf::atom_constant<caf::atom("copyerase")>;
/// any actor -> object directory actor (the client sweeps through its door):
/// () -> (swept_copies) forgets every object its owner let go of; them with
/// the nodes whose copies are to be freed.
using copy_sweep_atom = caf::atom_constant<caf::atom("copysweep")>;

// -- placement groups across nodes (docs/cluster.md) ---------------------------

/// owner -> node_manager: (token, BundleReservation) -> (bool, why): take
/// these bundles' resources if free now (phase one; hosted_bundles.hpp).
using bundle_prepare_atom = caf::atom_constant<caf::atom("bprepare")>;
/// owner -> node_manager: (token, group id): the bundles taken become
/// resources of their own (phase two).
using bundle_commit_atom = caf::atom_constant<caf::atom("bcommit")>;
/// owner -> node_manager: (token, group id): give the group's bundles back.
using bundle_release_atom = caf::atom_constant<caf::atom("brelease")>;

// -- the direct task lane (net/task_lane.hpp, MANTA_TASK_LANE=1) ---------------

/// owner -> node_manager: (token, key) -> (bool): the task lane with this
/// key that the owner opens next is its own (frames on it are hosted under
/// the owner, whose CAF connection the node manager watches).
using lane_hello_atom = caf::atom_constant<caf::atom("lanehello")>;
/// data path thread -> its node manager, in-process: (key, kind, id, extra,
/// payload), a frame of lane `key`.
using lane_atom = caf::atom_constant<caf::atom("lane")>;
/// lane reader thread -> its cluster client, in-process: (node, task id,
/// TaskResult, value beside).
using lane_result_atom = caf::atom_constant<caf::atom("laneresult")>;
/// lane reader thread -> its cluster client, in-process: (node, task id,
/// dispatch), the reader sealed that task's value itself: the books.
using lane_sealed_atom = caf::atom_constant<caf::atom("lanesealed")>;
/// lane reader thread -> its cluster client, in-process: (node, key), lane
/// `key` of that node ended without the client shutting it; (node, 0),
/// sent by the client to itself: it may open that node's lane again.
using lane_down_atom = caf::atom_constant<caf::atom("lanedown")>;

} // namespace manta::actors

// In-process only: never crosses a node boundary (what does is described in
// schemas/), so it needs no serializer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<manta::detail::fetch_promise>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::create_request_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::call_request_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::named_request_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::weak_ptr<const void>)
