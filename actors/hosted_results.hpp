#pragma once

#include "actors/node_manager.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/net/wire.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

// What a node sends back for the tasks, calls and generator items it runs
// for other processes: results inline or held here, failures, items.

namespace manta::actors {

/// A TaskFailure of task `id` (named `task`): this node refused it with
/// one of Manta's errors, of `kind`, saying `message`.
detail::wire::result_message failure_result(uint64_t id, const std::string& task,
                                            detail::error_kind kind, std::string message);

/// The TaskFailure of an exception.
detail::wire::result_message failure_of(uint64_t id, const std::string& name,
                                        const std::exception_ptr& ep);

/// The TaskResult of a finished hosted task or call, in `r`; keeps a value
/// larger than `inline_result_limit` here (held_objects), as the owner
/// reads it over the data path. For a value that goes inline, also the
/// encoded message (else empty): a value of 64 KiB or more that is a byte
/// vector (a hosted task's encoding, or a call's `std::vector<char>`) is
/// not copied but put in `beside`, to travel beside the message (as an
/// early answer's does); any other is copied once, from the sealed value
/// (or its codec's encoding) straight into the message, and `r.value`
/// views it only while this runs.
detail::wire::bytes finished_result(uint64_t id, const hosted_task& h,
                                    detail::wire::result_message& r,
                                    detail::wire::shared_bytes& beside);

/// The direct answer of hosted task `id` (remote_task::answer_early): the
/// thread that ran it sends a result of at most `inline_result_limit`
/// bytes to `state->owner` itself, as from the node manager, when the task
/// is the only one this node hosts, so that a lone round trip skips the
/// node manager's hop (its wake-up, then the outbox's flush); with others
/// hosted, results go through the node manager and leave in batches. The
/// thread takes the task off the hosted count; the node manager ends it
/// later (`answered_tasks`) and sends no second answer (`state`, kept in
/// the task's `hosted_task`). A value of 64 KiB or more travels beside the
/// TaskResult, not inside it (`wire::shared_bytes`): CAF copies it from the
/// result this node keeps straight into the connection's buffer.
/// As from node manager `manager`, whose token and hosted count these are
/// (a data path thread builds lane tasks too: lane_direct.hpp).
std::function<std::function<void()>(const std::shared_ptr<const std::vector<char>>&)>
early_answer(caf::actor_addr manager, const std::string& token,
             std::shared_ptr<std::atomic<size_t>> hosted, uint64_t id,
             std::shared_ptr<early_answer_state> state);

/// The direct answer of hosted actor call `id` whose result is `result`,
/// run by its waiter on the thread that sealed it (remote_done_waiter):
/// when the call is the only work this node hosts, its value goes inline,
/// it succeeded, no ref was read in this process since the call's
/// arguments were decoded (this function's making) and nothing of it went
/// through the node manager (`via_manager`: a generator method's items),
/// that thread sends the TaskResult to `state->owner` itself, as from the
/// node manager, which then ends the call without answering (as a task's
/// `early_answer`). Otherwise it does nothing and the node manager answers.
std::function<void()> early_call_answer(node_manager_actor* self, uint64_t id,
                                        const detail::slot_ptr& result,
                                        std::shared_ptr<early_answer_state> state,
                                        std::shared_ptr<std::atomic<bool>> via_manager,
                                        uint64_t borrowed);

/// Queues an encoded TaskResult for its owner (sent in a batch after this
/// burst).
void queue_result(node_manager_actor* self, const caf::actor& owner, detail::wire::bytes message);

/// Queues a TaskResult for its owner (sent in a batch after this burst).
void send_result(node_manager_actor* self, const caf::actor& owner,
                 const detail::wire::result_message& r);

/// Ends hosted task or call `id` whose result is sealed: its logs, then its
/// answer to its owner (none if its thread answered: `early_answer`).
void end_hosted(node_manager_actor* self, uint64_t id);

/// Ends the tasks their threads answered (`answered_tasks`).
void end_answered(node_manager_actor* self);

/// The owner sent hosted task `state`'s spec again (lane on): if its
/// thread's answer went on a task lane, the owner lost it with that lane
/// (a lane's answers read before it ended are handled before the owner
/// sends anything again: task_lanes.cpp, `lane_down`), so it goes again,
/// over CAF. Exactly one answer thus reaches the owner.
void answer_again(node_manager_actor* self, early_answer_state& state);

/// Results this process sent with `early_answer` or `early_call_answer`
/// (tests read it).
uint64_t early_answers() noexcept;

/// Where the items of streaming generator `id` that runs here for `owner`
/// go: each to the node manager, which sends it on at once. An item larger
/// than `inline_result_limit` stays here as a held object in this node's
/// budget, as a large result does, and only its id and size travel (from a
/// driver, whose node manager hosts calls from workers through lent
/// handles, also its data path's host and port, and the worker's release
/// frees it: item_stream::lend_item). `window` is the TaskSpec's back
/// pressure (0: none), which the producer's stream waits on.
detail::item_stream::emitter item_emitter(node_manager_actor* self, const caf::actor& owner,
                                          uint64_t id, uint64_t window);

/// As above, to node manager `manager` (from any thread).
detail::item_stream::emitter item_emitter(caf::actor_addr manager, const caf::actor& owner,
                                          uint64_t id, uint64_t window);

} // namespace manta::actors
