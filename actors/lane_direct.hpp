#pragma once

#include "actors/node_manager.hpp"
#include "manta/core/error_kind.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/net/wire.hpp"

#include <caf/atom.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <memory>
#include <string>
#include <vector>

namespace manta::detail {
struct function_info;
class remote_task;
} // namespace manta::detail

/// A task lane's spec hosted by the data path thread that read it
/// (`MANTA_TASK_LANE=1`; docs/cluster.md, "The task lane on main"): a lone
/// plain task whose function this node has, with a CPU free now and nothing
/// waiting, goes to the worker pool from that thread, and the node manager
/// is told afterwards to keep its books (`on_direct_task`), as if it had
/// hosted the spec itself; while another loop thread is spare, that thread
/// runs the task itself once the lane reads on (transfer_connection.cpp,
/// `on_lane_frame`), with the CPU the pool granted it. Everything else goes to the node manager as
/// before (`on_lane_frame`).
namespace manta::actors {

/// data path thread -> its node manager, in-process: (direct_task_ptr,
/// bool queue): host a task the data path built; `queue`: the pool had no
/// room for it, queue it as `schedule_hosted` does.
using lane_direct_atom = caf::atom_constant<caf::atom("lanedirect")>;

/// A spec the data path hosted, on its way to the node manager.
struct direct_task {
  caf::actor owner;
  std::shared_ptr<detail::remote_task> task;
  std::shared_ptr<early_answer_state> early;
  /// On the hosted count before the pool could run it (`early_answer`
  /// reads the count), moved into its `hosted_task`.
  hosted_counter counted;
  lane_id_mark mark;
};
using direct_task_ptr = std::shared_ptr<direct_task>;

/// What building a hosted task takes from its node manager (its thread's
/// or the data path's copy: `lane_direct`).
struct hosting_refs {
  caf::actor_addr manager;
  const std::string& token;
  const std::shared_ptr<std::atomic<size_t>>& hosted;
  const std::shared_ptr<detail::log_shipper>& logs;
};

/// The checks of a plain task's spec that need no node manager (both paths
/// make them, hosted_submit.cpp): its demand fits this node, its function
/// is known here (from job code too), with the signature and the layout
/// the owner called it with, and its types serialize. Null, and the
/// refusal's kind and text, if one fails.
const detail::function_info* hosted_function(const detail::wire::task_message& msg,
                                             detail::error_kind& kind, std::string& why);

/// The remote_task of a checked spec `msg` of `owner`, with what it sends
/// through the node manager (copies, items, lines) and its thread's answer
/// (`early`, on lane `lane_key` unless 0), reported submitted.
std::shared_ptr<detail::remote_task> build_hosted_task(hosting_refs refs, const caf::actor& owner,
                                                       const detail::function_info& fn,
                                                       detail::wire::task_message&& msg,
                                                       uint64_t lane_key,
                                                       std::shared_ptr<early_answer_state>& early);

/// On the data path thread that read spec `payload` of lane `key`: hosts
/// it (tells the node manager) if it is a lone plain task that may start
/// now, as `submit_hosted` would host it, and leaves it in `*run` for that
/// thread to run if `run` is given and the pool grants its CPUs at once,
/// else hands it to the pool; false if the node manager must (nothing was
/// done).
bool host_directly(const std::shared_ptr<lane_direct>& d, uint64_t key,
                   const std::vector<char>& payload, detail::task_lane::later* run);

/// The node manager's books for a task the data path hosted (before any
/// frame it read after the spec): tracked in `running` as `submit_hosted`
/// tracks one, also if it ended already; `queue`: the pool had no room,
/// it queues now.
void on_direct_task(node_manager_actor* self, const direct_task_ptr& d, bool queue);

/// Specs this process's data path handed to its pool (tests read it).
uint64_t direct_lane_specs() noexcept;

} // namespace manta::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::actors::direct_task_ptr)
