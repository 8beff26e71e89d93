#pragma once

#include "manta/actor/actor_call.hpp"
#include "manta/actor_options.hpp"

#include <cstdint>
#include <memory>
#include <string>

/// The actor engine's door to the cluster: "run this actor on another
/// node". The local core (store, sched, actor) includes no cluster code
/// (issue 22): an actor_core whose instance lives elsewhere keeps the
/// cluster's stand-in (`remote_actor`) behind a pointer it never looks
/// into, queues and orders its calls as for a local one, and asks these
/// functions, declared here by the code that needs them, to create the
/// instance there, send it each call and cancel one. Implemented by the
/// cluster (cluster/remote_actor.cpp), whose client places the actor.
namespace manta::detail {

class actor_core;
struct remote_actor;

/// Whether a new actor with `opts` lives on another node: only drivers of
/// a cluster place actors elsewhere, when the strategy says so or when
/// this node can never fit the actor's resources but a worker can.
bool place_on_other_node(const actor_options& opts);

/// Creates the actor on another node and returns its stand-in. Blocks the
/// calling (pool) thread until that node took the spec; its constructor
/// then runs there. Throws `manta::error` saying why it could not.
std::shared_ptr<remote_actor> create_on_other_node(actor_core& core, actor_ctor& ctor,
                                                   int restarts);

/// The node the stand-in's instance lives on (the state API says it).
uint16_t node_of(const remote_actor& where);

/// Sends a call to the node of `where`: a pending outcome, completed when
/// the result comes back, or an error outcome if it cannot be sent.
call_outcome call_on_other_node(const remote_actor& where, const run_context& ctx,
                                const std::string& task_name);

/// Tells the node running the call whose result is object `call` (of an
/// actor there) to cancel it, its children too with `recursive`.
void cancel_on_other_node(uint64_t call, bool recursive);

/// What the restart of the actor whose core has id `core_id` waits for
/// ("a node that offers {GPU: 1} to join"), said by `manta why` and the
/// state API; empty: nothing (or it is not restarting).
std::string restart_wait(uint64_t core_id);

} // namespace manta::detail
