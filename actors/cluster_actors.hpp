#pragma once

#include "actors/cluster_client.hpp"
#include "manta/net/shared_bytes.hpp"

#include <string>

/// The driver's cluster client placing actors on worker nodes and carrying
/// their calls (see manta/cluster/remote_actor.hpp for the owner's side):
/// it picks a node for an ActorSpec, books the actor's resources there,
/// sends each call as a TaskSpec naming the actor, completes the call when
/// its TaskResult arrives, and kills (so restarts elsewhere, while
/// `max_restarts` allows) the actors of a node that died.
namespace manta::actors {

/// Picks a node for a new actor and sends it the ActorSpec.
void create_remote_actor(cluster_client_actor* self, detail::create_request_ptr req);

/// A node answered an ActorSpec.
void on_actor_created(cluster_client_actor* self, uint16_t from, const detail::wire::bytes& bytes);

/// Sends a call to the node of its actor.
void send_actor_call(cluster_client_actor* self, detail::call_request_ptr req);

/// Completes the call `r` answers; false if `r` answers no actor call.
/// `beside`: its value, when it came apart (a byte vector of 64 KiB or
/// more: hosted_results.hpp, finished_result).
bool on_actor_call_result(cluster_client_actor* self, detail::wire::result_message& r,
                          const detail::wire::shared_bytes* beside = nullptr);

/// The owner let go of an actor: its node drops it (an attached handle's
/// actor stays).
void release_remote_actor(cluster_client_actor* self, uint16_t node, uint64_t id);

/// Asks the head where a named actor of another driver lives, or kills an
/// attached handle's actor (attached_actor.hpp).
void on_named_request(cluster_client_actor* self, detail::named_request_ptr req);

/// A node says one of its actors died for good.
void on_actor_dead(cluster_client_actor* self, uint16_t from, uint64_t id,
                   const std::string& cause);

/// Node `index` died or was cut off: creations there fail, its actors die
/// (restartable), both saying "node-N <why>".
void actors_lost(cluster_client_actor* self, uint16_t index, const std::string& why);

/// Tells the head where this driver's named actors live (after it joined
/// the head again: a replacement may not know them all).
void report_named_actors(cluster_client_actor* self);

/// Bounds every creation (called with the heartbeat): one waiting for a
/// worker to be reconnected fails after `reconnect_window`, one sent to a
/// node that has not answered within twice the connection timeout fails
/// (and its node is told to drop the actor). Each fails with why, so the
/// pool thread creating the actor never waits for an answer that is lost.
void expire_creates(cluster_client_actor* self);

} // namespace manta::actors
