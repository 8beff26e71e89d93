#pragma once

#include "manta/memory_summary.hpp"
#include "manta/object_id.hpp"
#include "manta/resources.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace manta {

/// Where a task (or actor call) is in its life. The names are Ray's, so
/// what users know from `ray list tasks` reads the same here.
enum class task_state : uint8_t {
  /// Submitted; waits for object arguments that do not exist yet.
  pending_args,
  /// Its arguments exist; waits for a lease on its resources (CPUs, GPUs).
  waiting_for_resources,
  /// An actor call queued behind earlier calls of its actor.
  queued_in_actor,
  /// Runs on an executor thread (or, in a cluster, on another node).
  running,
  finished,
  /// Raised an exception, had a failed argument or could never run.
  failed,
  cancelled,
};

/// "PENDING_ARGS", "WAITING_FOR_RESOURCES", "QUEUED_IN_ACTOR", "RUNNING",
/// "FINISHED", "FAILED", "CANCELLED".
std::string_view to_string(task_state s) noexcept;

/// The state named by `to_string`, case-insensitively; nullopt otherwise.
std::optional<task_state> task_state_from_string(std::string_view name) noexcept;

/// One task or actor call as the state API reports it.
struct task_info {
  /// The task's result object: what `object_ref::id()` returns.
  object_id id;
  /// The function (`.name(...)` if given) or "Class.method" for actor calls.
  std::string name;
  /// "task" or "actor_call".
  std::string kind;
  task_state state = task_state::pending_args; ///< RUNNING, FINISHED, ...
  /// Microseconds since the Unix epoch; 0 while the step has not happened.
  int64_t submitted_us = 0;
  int64_t started_us = 0; ///< When it started running.
  int64_t ended_us = 0; ///< When it finished or failed.
  /// The executor thread that ran it ("executor-3"), empty before it ran.
  std::string thread;
  /// Numeric id of that thread (the timeline's row); 0 before it ran.
  uint32_t thread_id = 0;
  /// The node that ran (or runs) it.
  std::string node;
  /// The task whose code submitted this one; invalid for the driver's.
  object_id parent;
  /// For actor calls: the actor's display name.
  std::string actor;
  /// Runs so far (more than 1 after retries).
  int attempts = 0;
  /// An async actor call that suspended (`co_await`): between its start
  /// and end its thread ran other work.
  bool suspended = false;
  /// Why it failed (exception type and message); empty otherwise.
  std::string error;
  /// The job (the head's id of the driver that owns it, docs/cluster.md,
  /// "Jobs"); empty outside a cluster, and for tasks a worker's own code
  /// submitted.
  std::string job;
  /// One object passed as an argument: its id and size in bytes (0 while
  /// it is not made yet). Arguments given by value travel inside the task.
  struct argument {
    /// The object passed.
    object_id id;
    /// Its size in bytes; 0 while it is not made yet.
    uint64_t size_bytes = 0;
  };
  /// The object arguments, in order (the detail page's "arguments").
  std::vector<argument> args;
  /// A task that failed without running because an argument had failed:
  /// that argument (the result of the task that failed first); invalid
  /// otherwise. The detail page follows it to show the chain.
  object_id caused_by;

  /// The field named `key` as text, for filters ("state", "name", "kind",
  /// "node", "thread", "actor", "id", "parent", "job"); empty for unknown
  /// keys.
  std::string field(std::string_view key) const;
};

/// One change of an actor's state, for its detail page.
struct actor_state_change {
  std::string state; ///< As `actor_info::state` names it.
  int64_t at_us = 0; ///< Wall clock, microseconds since the Unix epoch.
  /// Why (a death's or restart's cause); empty for creation and ALIVE.
  std::string detail;
};

/// One actor as the state API reports it.
struct actor_info {
  /// Its id, 16 hex digits (`runtime_context::get_actor_id`; what
  /// `manta logs --actor` takes).
  std::string id;
  /// The class ("counter") and `.name(...)`, if any.
  std::string class_name;
  std::string name; ///< Its `.name(...)`; empty if none.
  std::string ns; ///< Its namespace (`.namespace_(...)`).
  /// "PENDING_CREATION" (waits for its constructor's arguments or its
  /// resources), "ALIVE", "RESTARTING" or "DEAD".
  std::string state;
  int restarts = 0; ///< How often it was restarted after a crash.
  /// Calls queued and running right now.
  size_t queued_calls = 0;
  size_t running_calls = 0; ///< And running.
  std::string node; ///< The node it lives on.
  /// Why it died; empty while it lives.
  std::string death_cause;
  resource_map resources; ///< The resources it holds for its whole life.
  /// The job of the driver that created it; empty outside a cluster.
  std::string job;
  /// Its states in order, each with when it entered it: PENDING_CREATION,
  /// ALIVE, then RESTARTING and ALIVE for each restart, DEAD. At most
  /// `actor_core::max_history` (the first, then the newest).
  std::vector<actor_state_change> history;

  std::string field(std::string_view key) const; ///< A field by name.
};

/// One node of the cluster as this process sees it.
struct node_info {
  std::string name; ///< The node's name ("node-2 (pid 4242)").
  /// "driver" (this process), "worker" or "head".
  std::string role;
  std::string state = "ALIVE"; ///< "ALIVE", "DEAD" or "NOT_RESPONDING".
  resource_map total; ///< Resources it offers in all.
  resource_map available; ///< Resources free right now.
  size_t queued_tasks = 0; ///< Tasks waiting there for resources.
  size_t executor_threads = 0; ///< Threads running tasks and actor calls.

  std::string field(std::string_view key) const; ///< A field by name.
};

/// Keeps the records whose fields equal the given values, e.g.
/// `{{"state", "RUNNING"}}` (states compare case-insensitively), at most
/// `limit` of them.
struct list_filter {
  std::vector<std::pair<std::string, std::string>> equals; ///< (field, value)
  size_t limit = static_cast<size_t>(-1); ///< At most this many records.

  /// Parses "key=value" (what `manta list --filter` passes).
  static list_filter parse(const std::vector<std::string>& items);

  template <class Info>
  bool matches(const Info& info) const { ///< All equal?
    for (auto& [key, value] : equals)
      if (!field_equals(info.field(key), key, value))
        return false;
    return true;
  }

private:
  static bool field_equals(const std::string& have, std::string_view key, const std::string& want);
};

/// Tasks and actor calls: those not finished yet, then the most recent
/// finished ones (as many as `init_options::task_history` keeps), oldest
/// first. Empty when task events are off (`init_options::task_events`).
std::vector<task_info> list_tasks(const list_filter& filter = {});

/// The node's live actors and those that died recently.
std::vector<actor_info> list_actors(const list_filter& filter = {});

/// This node and, in a cluster, the worker nodes it is connected to.
std::vector<node_info> list_nodes(const list_filter& filter = {});

/// The node's objects (the rows of `memory_summary()`), filtered by "id",
/// "location", "type", "owner" or "created_by".
std::vector<object_memory_info> list_objects(const list_filter& filter = {});

/// Counts of tasks by state: the live ones plus every one finished since
/// `init` (not only those still in the history).
struct task_counts {
  size_t pending_args = 0, waiting_for_resources = 0, queued_in_actor = 0, running = 0;
  size_t finished = 0, failed = 0, cancelled = 0;
};
task_counts count_tasks(); ///< Counts the node's tasks by state.

} // namespace manta
