#pragma once

// The task events' storage, shared by the recording hooks (task_events.cpp)
// and the listings that read it (task_listing.cpp). Internal to those two.

#include "manta/core/spin_lock.hpp"
#include "manta/sched/task_error.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/sched/task_spec.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace manta::detail::task_events {

/// What few finished records carry (a `.name(...)` of an actor call, an
/// error, object arguments): kept apart, so that the common record moves
/// into the history as plain words plus one short string.
struct finished_extra {
  /// Actor calls: the call's own `.name(...)`.
  std::string call_name;
  std::string error;
  /// The object arguments and their sizes, taken when the task ends.
  std::vector<task_info::argument> args;
  /// The failed argument a task failed of without running (task_info).
  object_id caused_by;
};

/// One finished task or actor call, as the bounded history keeps it. Names
/// are pointers to registry strings (which live as long as the process), so
/// keeping a record copies no text in the common case.
struct finished_record {
  object_id id;
  object_id parent;
  const std::string* name = nullptr;
  /// Actor calls: the method; `name` is then the actor's class.
  const std::string* method = nullptr;
  /// `.name(...)` of a task or the actor's display name; usually short.
  std::string label;
  task_state state = task_state::finished;
  bool actor_call = false;
  bool suspended = false;
  uint32_t thread = 0;
  int attempts = 0;
  uint32_t remote_node = 0;
  int64_t submitted_ns = 0;
  int64_t started_ns = 0;
  int64_t ended_ns = 0;
  /// Null for most records (a task without object arguments that succeeded).
  std::unique_ptr<finished_extra> extra;

  finished_record() = default;
  finished_record(finished_record&&) noexcept = default;
  finished_record& operator=(finished_record&&) noexcept = default;
  ~finished_record() = default;
  /// A listing copies the records it shows under the history's lock.
  finished_record(const finished_record& other)
    : id(other.id), parent(other.parent), name(other.name), method(other.method),
      label(other.label), state(other.state), actor_call(other.actor_call),
      suspended(other.suspended), thread(other.thread), attempts(other.attempts),
      remote_node(other.remote_node), submitted_ns(other.submitted_ns),
      started_ns(other.started_ns), ended_ns(other.ended_ns),
      extra(other.extra ? std::make_unique<finished_extra>(*other.extra) : nullptr) {}
  finished_record& operator=(const finished_record&) = delete;

  /// The rare fields, made on first use.
  finished_extra& more() {
    if (!extra)
      extra = std::make_unique<finished_extra>();
    return *extra;
  }
};

/// The tasks one thread submitted that may still be live. Only that thread
/// appends; listings read (and sweep) it under the lock.
struct submit_list {
  spin_lock mtx;
  std::vector<std::weak_ptr<task_spec>> tasks;
  /// Size at which the owner sweeps out ended tasks next.
  size_t sweep_at = 64;
};

inline bool gone(const std::weak_ptr<task_spec>& w) {
  if (w.expired()) // one load; most of a sweep's tasks are destroyed
    return true;
  auto t = w.lock();
  return !t || t->trace.ended.load(std::memory_order_relaxed);
}

/// Latency buckets (seconds), Prometheus' defaults extended downwards:
/// tasks here take microseconds. A constant array, not a static vector:
/// tasks may end during static destruction, after a vector's destructor
/// freed it (ThreadSanitizer saw that race in `object_test`).
constexpr std::array<double, 8> bucket_bounds{1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 60};

struct histogram_cell {
  std::vector<uint64_t> counts = std::vector<uint64_t>(bucket_bounds.size() + 1, 0);
  uint64_t count = 0;
  double sum = 0;
};

/// Finished records in a ring, the totals and the latency histograms.
struct history {
  spin_lock mtx;
  std::vector<finished_record> ring;
  size_t capacity = 10000;
  size_t next = 0; // where the next record goes
  size_t size = 0;
  totals sums;
  /// Keyed by the stable name pointers (class and method for actor calls).
  std::map<std::pair<const void*, const void*>, histogram_cell> latency;
};

/// One runtime's recorder: the threads' submit lists, the history and the
/// threads' names. Made by `make_recorder` for the runtime's constructor;
/// the runtime and the threads that recorded into it hold it
/// (task_events.cpp, `thread_cache`).
struct recorder {
  /// Unique among the process's recorders (0 is none): what a task's trace
  /// and a thread's cache name their recorder by, so that neither mistakes
  /// a later recorder made at the same address for theirs.
  const uint32_t generation;
  /// `init_options::task_events`: whether tasks submitted now are tracked.
  const bool enabled;
  std::mutex lists_mtx;
  std::vector<std::shared_ptr<submit_list>> lists;
  history hist;
  std::mutex threads_mtx;
  std::vector<std::string> thread_names{""}; // index 0: none

  recorder(uint32_t gen, bool on, size_t history_size) : generation(gen), enabled(on) {
    hist.capacity = history_size;
  }
};

/// The running runtime's recorder, held while a listing reads it; null
/// without a runtime (a listing then shows nothing).
std::shared_ptr<recorder> running_recorder();

/// Called by the runtime's shutdown once its pool and actor system are
/// gone: `r` is no longer the running recorder, so the listings show
/// nothing and a thread that did not record into it yet never will. (A
/// thread that did holds it until it moves on, and its late records go
/// there, where nobody reads them.)
void retire(const recorder& r) noexcept;

/// A cancellation is the one error the runtime raises to stop a task.
inline bool is_cancel(const std::exception_ptr& e) {
  return is_runtime_error(e);
}

/// The task's object arguments with their sizes so far (or as the task
/// kept them when it let go of them); in `failed`, the first that failed
/// (what a task that did not run failed of). Takes the task's `args_lock`.
void read_args(const task_spec& t, std::vector<task_info::argument>& out, object_id* failed);

} // namespace manta::detail::task_events
