#pragma once

#include "manta/sched/task_spec.hpp"
#include "manta/store/far_objects.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <memory>

namespace manta::detail {
struct placement_record;
using placement_ptr = std::shared_ptr<placement_record>;
} // namespace manta::detail

/// Message tags of the node's own actors and of what the local core (store,
/// sched, actor, placement) sends to its node's router, the cluster client
/// on a driver or the node manager on a worker. What only the cluster sends
/// is in cluster_atoms.hpp, so that the local core includes no cluster code
/// (issue 22). CAF atoms hold at most 10 characters.
namespace manta::actors {

/// object slot -> task_runner: one of your arguments was sealed.
using ready_atom = caf::atom_constant<caf::atom("ready")>;
/// runtime -> node_manager: the runtime is published; serve other nodes.
using serve_atom = caf::atom_constant<caf::atom("serve")>;
/// user -> task_runner: stop waiting, the task was cancelled. `cancel`
/// -> cluster_client: (result id, force, recursive), tell the node it was
/// sent to. Between nodes, driver -> node_manager: (token, result id,
/// force, recursive), cancel that hosted task or call.
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// anyone -> node_manager: what is free and what is there in total?
using resources_atom = caf::atom_constant<caf::atom("resources")>;
/// timer or object slot -> actor_host: a suspended async method may go on.
using resume_atom = caf::atom_constant<caf::atom("resume")>;

// -- the local core -> its node's router --------------------------------------

/// owner -> the node running its streaming generator with back pressure:
/// (token, task id, items the caller took), so the producer may yield
/// again (item_stream::acknowledge). In-process: the stream -> its node's
/// router: (the producer's node manager, task id, items taken).
using item_ack_atom = caf::atom_constant<caf::atom("genack")>;
/// In-process: an object lent while still being computed was sealed, or a
/// borrower reported it (id): the router (cluster client on a driver, node
/// manager on a worker) sends each waiting borrower node where it is
/// (borrowers.hpp, ref_resolutions).
using ref_sealed_atom = caf::atom_constant<caf::atom("refsealed")>;
/// ~remote_actor -> cluster_client: (node, actor id): the owner let go.
using actor_release_atom = caf::atom_constant<caf::atom("actrelease")>;
/// placement registry -> cluster_client: (group) reserve its bundles, or
/// it was removed; cluster_client -> itself: try the pending groups again.
using group_place_atom = caf::atom_constant<caf::atom("gplace")>;
using group_remove_atom = caf::atom_constant<caf::atom("gremove")>;
using group_retry_atom = caf::atom_constant<caf::atom("gretry")>;

} // namespace manta::actors

// In-process only: never crosses a node boundary (what does is described in
// schemas/), so it needs no serializer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::task_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::remote_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::placement_ptr)
