#pragma once

#include "actors/node_manager.hpp"
#include "manta/cluster/remote_task.hpp"

#include <chrono>
#include <memory>
#include <vector>

/// A node's queue of tasks other nodes sent, as their owners see it: a
/// hosted task that finds no free resources is WAITING_FOR_RESOURCES here
/// and, once its owner is told (`report_queue`), in the owner's view too,
/// until it starts. An owner with an idle node elsewhere takes queued tasks
/// back (`give_back`) and places them there: work stealing (docs/cluster.md,
/// "Queued tasks and work stealing").
namespace manta::actors {

/// How long queue news waits before it is sent: one report then carries a
/// burst of queueings and starts, and a task that queued and started within
/// it costs its owner nothing. A report on each start doubled the messages
/// a busy worker sends its owner and cost 19% of cross-node throughput.
inline constexpr auto queue_report_interval = std::chrono::milliseconds{10};

/// Runs a hosted task in the node's pool now if it has room; else queues it
/// and notes it for its owner (told with the next report).
void schedule_hosted(node_manager_actor* self, const caf::actor& owner,
                     std::shared_ptr<detail::remote_task> task);

/// Plans a report within `queue_report_interval` unless one is planned.
void plan_queue_report(node_manager_actor* self);

/// Tells each owner which of its tasks queued here and which of those have
/// started since the last report; one that did both since then is left
/// out. Results travel on their own: the owner ignores news of a task whose
/// result it has.
void report_queue(node_manager_actor* self);

/// An owner's steal request (TaskQueue): the tasks it names that still wait
/// here, at most its limit, are taken off the queue and forgotten here; the
/// owner gets their ids back and places them elsewhere.
void give_back(node_manager_actor* self, const std::vector<char>& request);

/// The start log of the node manager (wakes it to plan a report).
std::shared_ptr<detail::start_log> make_start_log(node_manager_actor* self);

} // namespace manta::actors
