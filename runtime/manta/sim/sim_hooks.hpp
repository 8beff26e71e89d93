#pragma once

#include "manta/sched/task_spec.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

/// The few points where the runtime hands work to the simulator
/// (docs/simulation.md). Outside a simulation each is one relaxed load.
namespace manta::detail {

class actor_core;

namespace sim {
class world;
/// The running simulation, or null.
extern std::atomic<world*> g_world;
} // namespace sim

/// Whether the runtime runs as a simulation.
inline bool sim_engaged() noexcept {
  return sim::g_world.load(std::memory_order_acquire) != nullptr;
}

/// Whether the calling thread drives the simulation (its `get`/`wait` run
/// events instead of parking).
bool sim_drives_this_thread() noexcept;

/// A ready task or an actor job, given to the simulated cluster instead of
/// the worker pool (from any thread).
void sim_schedule(task_ptr t);

/// A submitted task with arguments still to come (instead of a task actor).
void sim_wait_for_args(task_ptr t);

/// Runs `fn` as a simulation event now (from any thread).
void sim_post(std::function<void()> fn);

/// Runs `fn` as a simulation event `d` of virtual time from now: an async
/// actor's `co_await manta::sleep_for(d)` (a CAF timer would fire in real
/// time, on a thread no seed orders). From a thread outside the simulation
/// the span starts when the simulation takes the work in.
void sim_post_after(std::chrono::nanoseconds d, std::function<void()> fn);

/// A deadline `timeout` from now made on the driving thread (get.hpp's
/// `deadline_after`): `sim_block` finds it again and waits exactly
/// `timeout` of virtual time from the moment it was made.
void sim_note_deadline(std::chrono::steady_clock::time_point deadline,
                       std::chrono::steady_clock::duration timeout) noexcept;

/// `get`/`wait` on the driving thread: runs events until `done()` or the
/// deadline: one noted by `sim_note_deadline` is its exact virtual
/// deadline; another real-clock point is turned into the same span of
/// virtual time, rounded up to whole milliseconds. False on timeout.
/// `watch`: the objects whose sealing may make `done()` hold; `poll`:
/// check `done()` after every event instead (the objects are not known).
bool sim_block(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline,
               std::span<object_slot* const> watch = {}, bool poll = false);

/// Whether `e` unwound a task whose virtual node died.
bool sim_lost_run(const std::exception_ptr& e) noexcept;

/// The runtime's run of one task (runtime.cpp): what a pool thread does.
/// True when it should run again (a retry).
bool execute_task(const task_ptr& t);

/// Before `slot` is sealed with a value: a run measured by its CPU time
/// (sim_cost::measured) whose result it is spends that time first.
void sim_before_seal(object_slot& slot);

/// `slot` was sealed: the simulation notes on which node and when, so that
/// a reader on another node waits for it to cross the network.
void sim_sealed(const object_slot& slot) noexcept;

/// `slot` is destroyed (from any thread): its note goes.
void sim_slot_gone(const object_slot* slot) noexcept;

/// An actor call of `name` ("Class.method") starts on the calling run's
/// fiber: a declared duration passes first; a measured one is timed.
void sim_call_starts(const std::string& name);

/// The call started last on this run's fiber returned: its measured CPU
/// time passes before its result is sealed.
void sim_call_ends();

/// `core`'s actor died for good: its virtual node gives back what the
/// instance held for its life (docs/simulation.md).
void sim_actor_gone(const actor_core* core);

/// Stops the simulation before the runtime stops (prints its summary).
void sim_stop() noexcept;

/// Whether some virtual node could ever hold `d` (the submission checks of
/// tasks and actors); `total`, if given, gets the virtual nodes' totals.
bool sim_fits_a_node(const resource_demand& d, resource_demand* total = nullptr);

struct placement_record;
struct layout_node;

/// The live virtual nodes and their totals, which a new placement group
/// must fit (`placement_registry::check_cluster_fit`).
std::vector<layout_node> sim_group_nodes();

/// A new placement group, reserved on virtual nodes (sim_groups.cpp)
/// instead of by the driver's cluster client.
void sim_place_group(const std::shared_ptr<placement_record>& pg);

/// A removed group's bundles are given back on their virtual nodes.
void sim_remove_group(const std::shared_ptr<placement_record>& pg);

} // namespace manta::detail
