#pragma once

#include "manta/sched/worker_pool.hpp"
#include "manta/init.hpp"
#include "manta/object_id.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace manta::actors {
class dashboard;
}

namespace manta::detail {

class actor_directory;
struct attached_actors;
class cluster;
struct handle_loans;
class hosted_bundles;
struct known_jobs;
class log_capture;
class log_store;
class memory_monitor;
struct object_loans;
class object_store;
class placement_registry;
class series_recorder;
struct stream_index;
struct unread_results;

namespace task_events {
struct recorder;
}

/// The embedded node of this process: CAF's actor system with the node's
/// actors, the executor threads, the resources and the node's parts (the
/// task event recorder, object store, actor directory, placement groups,
/// hosted bundles, task logs, the refs and handles lent across nodes, the jobs known, the
/// generator streams items from other nodes go to). Exactly
/// one exists between `init` and `shutdown`; it builds its parts first and
/// destroys them last, in the reverse order, so a second `init` after a
/// `shutdown` starts from fresh parts and nothing is reset by hand.
///
/// How code reaches a part: through the runtime it holds (`rt.actors()`),
/// or, where it holds none, through `runtime::here()` / `runtime::live()`.
/// The pointer behind them is the process's one pointer to its runtime, as
/// Ray's core worker is one per worker process: user code calls `get`,
/// `remote` and actor methods as free functions with no context argument,
/// and values, refs and handles the user keeps call back into the runtime
/// when they drop. The object store, whose objects may outlive the runtime,
/// is reference-counted; what else stays process-wide is listed in
/// docs/architecture.md, "Ownership".
class runtime {
public:
  explicit runtime(const init_options& opts, bool worker = false);
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// The running runtime; throws `not_initialized_error` naming `what`.
  static runtime& require(const char* what);

  /// The running runtime or null.
  static runtime* current() noexcept;

  /// The runtime from the start of its construction to the end of its
  /// destruction, or null: wider than `current()`, which says whether it
  /// takes calls. The node's actors still run, and objects and actors still
  /// drop, while it shuts down: they reach its parts through this.
  static runtime* live() noexcept;

  /// `*live()`; throws `not_initialized_error` naming `what` without one.
  static runtime& here(const char* what = "runtime");

  /// Starts and stops the process's runtime (behind `init`/`shutdown`).
  static void start(const init_options& opts, bool worker = false);
  static void stop();

  /// Name of this node in errors and tools, e.g. "node-0 (pid 4242)".
  static const std::string& node_name() noexcept;

  /// The cluster token of this process ("" for an embedded single node):
  /// what its messages to other nodes carry and what it accepts.
  static const std::string& cluster_token() noexcept;

  caf::actor_system& system() noexcept { return *system_; }
  const caf::actor& node_manager() const noexcept { return node_manager_; }
  worker_pool& pool() noexcept { return *pool_; }

  /// The node's object store (object_store.hpp), which lives on after the
  /// runtime while objects of it are still referenced.
  object_store& store() noexcept { return *store_; }

  /// The node's actors by name and every live one (actor_directory.hpp).
  actor_directory& actors() noexcept { return *actors_; }

  /// This node's placement groups (placement_groups.hpp).
  placement_registry& placements() noexcept { return *placements_; }

  /// Bundles other nodes' groups reserve here (hosted_bundles.hpp).
  hosted_bundles& hosted() noexcept { return *hosted_; }

  /// The task event recorder: live tasks, finished records, totals and
  /// latencies for the state API, timeline and metrics (task_events.hpp).
  task_events::recorder& events() noexcept { return *events_; }

  /// The lines tasks printed (log_store.hpp).
  log_store& task_logs() noexcept { return *task_logs_; }

  /// The object refs this node lent to other nodes, and those it borrowed
  /// while still being computed (object_loans.hpp, borrowers.hpp).
  object_loans& lent_refs() noexcept { return *lent_refs_; }

  /// The actor handles this node lent, and its stand-ins of other nodes'
  /// (handle_loans.hpp, lent_handles.hpp).
  handle_loans& lent_handles() noexcept { return *lent_handles_; }

  /// The lends inside results sent to other nodes and not read there yet
  /// (unread_results.hpp, contained_refs.hpp).
  unread_results& result_lends() noexcept { return *result_lends_; }

  /// The handles attached to other drivers' named actors (attached_actors.hpp).
  attached_actors& attached() noexcept { return *attached_; }

  /// This process's job and those of the owners it runs for (known_jobs.hpp, job_id.hpp).
  known_jobs& jobs() noexcept { return *jobs_; }

  /// The generator streams by task id, their early items, and the large
  /// items kept for other nodes' readers (stream_index.hpp, item_stream.hpp).
  stream_index& streams() noexcept { return *streams_; }

  /// The link to the cluster; null for an embedded single node.
  cluster* cluster_link() noexcept { return cluster_.get(); }

  double total_cpus() const noexcept { return total_cpus_; }
  const resource_map& total_custom() const noexcept { return total_custom_; }

  /// This node's index in its cluster (0 outside one).
  uint16_t node_index() const noexcept { return node_index_; }

  /// The port the dashboard listens on; 0 without one.
  uint16_t dashboard_port() const noexcept;

  /// "HOST:PORT" where the dashboard is reached; "" without one.
  std::string dashboard_address() const;

  /// A fresh object id owned by this node.
  object_id next_object_id() noexcept {
    return object_id::make(node_index_, next_index_.fetch_add(1, std::memory_order_relaxed));
  }

private:
  void stop_all();

  /// Lets go of the runtime's reference to its store.
  struct store_release {
    void operator()(object_store* store) const noexcept;
  };

  // The parts, built first and destroyed last (after the actor system, whose
  // actors use them, and the pool); those of them that use another come
  // after it. The recorder is first, so that it goes last: tasks end (and
  // are recorded) until the pool and the actor system are gone.
  std::shared_ptr<task_events::recorder> events_;
  std::unique_ptr<object_store, store_release> store_;
  std::unique_ptr<log_store> task_logs_;
  std::unique_ptr<actor_directory> actors_;
  std::unique_ptr<placement_registry> placements_;
  std::unique_ptr<hosted_bundles> hosted_;
  std::unique_ptr<object_loans> lent_refs_;
  std::unique_ptr<handle_loans> lent_handles_;
  std::unique_ptr<unread_results> result_lends_;
  std::unique_ptr<attached_actors> attached_;
  std::unique_ptr<known_jobs> jobs_;
  std::unique_ptr<stream_index> streams_;

  uint16_t node_index_ = 0;
  std::atomic<uint64_t> next_index_{1};
  double total_cpus_;
  resource_map total_custom_;
  std::unique_ptr<caf::actor_system_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<worker_pool> pool_;
  caf::actor node_manager_;
  std::unique_ptr<cluster> cluster_;
  std::unique_ptr<actors::dashboard> dashboard_;
  std::unique_ptr<log_capture> logs_;
  std::unique_ptr<memory_monitor> memory_monitor_;
  /// The dashboard's graphs: a sample of the node each second (series.hpp).
  std::unique_ptr<series_recorder> series_;
};

} // namespace manta::detail
