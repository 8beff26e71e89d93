#pragma once

#include "manta/object_id.hpp"
#include "manta/observe/tsc_clock.hpp"
#include "manta/state.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace manta::detail {

class task_spec;
class actor_call;

/// The event recorder's bookkeeping of one task, embedded in its
/// `task_spec` so that recording allocates nothing. Times are
/// steady-clock nanoseconds (0: not yet); fields read by listings are
/// atomics because a listing reads them while the task moves on.
struct task_trace {
  std::atomic<uint8_t> state{0};
  /// Set once at submission when events are on; never changes afterwards.
  bool tracked = false;
  /// Set by whoever records the task's end first (it ends once).
  std::atomic<bool> ended{false};
  /// In a cluster: the worker node the task was sent to, +1 (0: here).
  std::atomic<uint32_t> remote_node{0};
  std::atomic<int64_t> submitted_ns{0};
  std::atomic<int64_t> started_ns{0};
  /// Taken just before the result is sealed, so a parent woken by the seal
  /// always ends after its child.
  std::atomic<int64_t> ended_ns{0};
  std::atomic<uint32_t> thread{0};
  /// The generation of the recorder that tracks it (`recorder::generation`):
  /// its later hooks record into that recorder only, never into the next
  /// runtime's, and a task that outlives its runtime records nothing.
  uint32_t recorder = 0;
  object_id parent;
};

/// The same for one actor call, embedded in its `actor_call`.
struct call_trace {
  bool tracked = false;
  int64_t submitted_ns = 0;
  std::atomic<int64_t> started_ns{0};
  std::atomic<uint32_t> thread{0};
  /// An async method that suspended: its time includes its waits.
  std::atomic<bool> suspended{false};
  /// As `task_trace::recorder`.
  uint32_t recorder = 0;
  object_id parent;
};

/// Records what tasks and actor calls do, for the state API, the timeline
/// and the metrics. Each runtime owns its recorder (`runtime::events()`,
/// made by `init` from its options and gone with the runtime); a thread
/// reaches it through a per-thread cache tagged with the recorder's
/// generation, which each task carries (`task_trace::recorder`). Live
/// tasks: each submitting thread keeps weak pointers to the tasks it
/// submitted, in a list only it writes (and a listing reads); ended ones
/// are swept out as the list grows. Nothing another thread touches is
/// written when a task ends, except the ring of finished records, of
/// bounded size, so a million tasks cost no more memory than the ring.
/// Turned off (`init_options::task_events`), a submit checks one flag of
/// the runtime's recorder and the task's other hooks one field.
namespace task_events {

/// One runtime's recorder (task_recorder.hpp).
struct recorder;

/// Steady-clock nanoseconds, the recorder's time base, read from the TSC
/// where it is invariant (tsc_clock.hpp: a plain `rdtsc` does not wait for
/// the task's cache misses as the vDSO's `rdtscp` does).
inline int64_t now_ns() noexcept {
  return tsc_clock::now_ns();
}

/// Turns a recorder time into microseconds since the Unix epoch.
int64_t to_wall_us(int64_t steady_ns) noexcept;

/// A runtime's recorder, made by its constructor from `init`'s options
/// (`task_events`: record at all; `task_history`: finished records kept),
/// under a generation no earlier recorder had. Reference-counted: the
/// threads that recorded into it hold it until they move to the next
/// runtime's (or exit), so that a hook racing with `shutdown` writes into
/// live memory that nobody reads any more.
std::shared_ptr<recorder> make_recorder(bool enabled, size_t history);

/// The numeric id of the calling thread as an executor in the running
/// runtime's recorder (assigned on first use, from 1; 0 without a
/// runtime) and its name there.
uint32_t current_thread_id() noexcept;
std::string thread_name(uint32_t id);

/// Task hooks (all cheap no-ops for untracked tasks).
void on_submit(const std::shared_ptr<task_spec>& t) noexcept;
void on_waiting_for_resources(task_spec& t) noexcept;
void on_dispatched(task_spec& t, uint16_t node) noexcept;
/// Returns the start time it recorded (0: the task is not tracked), for
/// the memory monitor's run id (memory_monitor::begin_run).
int64_t on_start(task_spec& t) noexcept;
/// The node a task was dispatched to says it started there (it had queued).
void on_remote_start(task_spec& t) noexcept;
/// A task dispatched to another node came back unstarted (work stealing).
void on_undispatched(task_spec& t) noexcept;
/// The function returned; its result is about to be sealed.
inline void mark_ended(task_trace& tr) noexcept {
  if (tr.tracked)
    tr.ended_ns.store(now_ns(), std::memory_order_relaxed);
}
/// After a run: `error` null on success; `retry` when it runs again.
void on_run_end(task_spec& t, const std::exception_ptr& error, bool retry) noexcept;
/// The task ended without running (failed argument, cancel, shutdown).
void on_end(task_spec& t, task_state s, const std::exception_ptr& error) noexcept;
/// From ~task_spec: a task whose end was not recorded ends with its
/// result's state.
void on_destroy(task_spec& t) noexcept;

/// Actor-call hooks.
void on_call_submit(actor_call& c) noexcept;
void on_call_start(actor_call& c) noexcept;
/// `remote_node`: for a call that ran on an actor placed on another node,
/// that node + 1 (its record then names that node, as a placed task's does).
void on_call_end(const actor_call& c, const std::string& class_name, const std::string& actor_name,
                 const std::exception_ptr& error, uint32_t remote_node = 0) noexcept;

/// The live (listed) tasks, as the state API shows them.
std::vector<task_info> live_tasks();

/// This node's live tasks that run, and that wait for arguments or
/// resources: what the dashboard's series samples every second. Counted
/// without building the listing, which reads every task's name and
/// arguments (about a second of CPU per sample with a million tasks in
/// flight, on a thread that holds each submit list's lock meanwhile).
struct live_count {
  uint64_t running = 0;
  uint64_t queued = 0;
};
live_count count_live_here();

/// The finished records, oldest first.
std::vector<task_info> finished_tasks();

/// Finished counts since `configure`, by terminal state.
struct totals {
  uint64_t finished = 0, failed = 0, cancelled = 0;
  /// Of those, the ones that ran on this node, not on a node they were
  /// placed on (that node counts them): what the dashboard's graphs count,
  /// so that a cluster's sums count each once.
  uint64_t finished_here = 0, failed_here = 0;
  /// The actor calls that ran here (the graphs' calls per second).
  uint64_t actor_calls_here = 0;
};
totals finished_totals();

/// Per-name latency histograms of finished runs (seconds), cumulative
/// since `configure`.
struct latency_histogram {
  std::string name;
  /// Upper bounds in seconds and the number of observations at most each.
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  uint64_t count = 0;
  double sum = 0;
};
std::vector<latency_histogram> latencies();

/// Readable text of an error: "type: message".
std::string describe(const std::exception_ptr& e);

} // namespace task_events

} // namespace manta::detail
