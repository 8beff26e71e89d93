#pragma once

#include "manta/sched/child_tasks.hpp"
#include "manta/core/spin_lock.hpp"
#include "manta/store/object_slot.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/task_options.hpp"

#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace manta::detail {

class parker;
struct remote_object;

/// One submitted task: what to run, with which options, which objects it
/// waits for and where its result goes. Shared by the task's actor, the
/// executor thread that runs it and (weakly) its result slot, so `cancel`
/// can find it from a ref.
class task_spec {
public:
  /// The process's default options (`default_task_options`, what a
  /// builder with no option chained passes) are shared, not copied: the
  /// copy and its destruction were about 95 instructions a task of the
  /// submitting thread. Any other options are copied once, into the task's
  /// own (a builder's stay its own).
  task_spec(const std::string& function_name, const task_options& opts);
  /// For options made for this task alone (an actor's job, a remote task).
  task_spec(const std::string& function_name, task_options&& opts);
  virtual ~task_spec();

  task_spec(const task_spec&) = delete;
  task_spec& operator=(const task_spec&) = delete;

  /// The task's name: the `.name(...)` option or the function's name.
  const std::string& name() const noexcept { return opts.name.empty() ? function_name : opts.name; }

  /// Runs the function once. On success seals the result and returns null;
  /// otherwise returns what the function threw, leaving the result pending
  /// so the task actor can retry or seal an error.
  virtual std::exception_ptr run() noexcept = 0;

  // -- cluster: the task as it crosses nodes --------------------------------

  /// Whether the task may run on another node: its function's parameters
  /// and result can be serialized and its object arguments have exactly the
  /// parameters' types (the other node decodes them as those).
  virtual bool remote_capable() const noexcept { return false; }

  /// Why the task cannot run on another node, naming the type at fault;
  /// empty when `remote_capable()`.
  virtual std::string travel_blocker() const {
    return "its function cannot be called from another node";
  }

  /// The function's type as the compiler names it, checked by the node that
  /// runs the task.
  virtual const char* signature() const noexcept { return ""; }

  /// The hash of the function's parameter and result layouts
  /// (callable_layout.hpp), checked by the node that runs the task; 0 if
  /// unknown.
  virtual uint64_t layout_hash() const noexcept { return 0; }

  /// Encodes the arguments given by value, in order; object arguments are
  /// left empty (the owner fills them from `deps`). Throws on failure.
  virtual void encode_args(std::vector<std::optional<std::vector<char>>>& out) const;

  /// Appends one argument to `encode_args`' list: its bytes, or none for an
  /// object argument. Out of line (task_spec.cpp), so the list's growth is
  /// not built again for every task type.
  static void append_arg(std::vector<std::optional<std::vector<char>>>& out,
                         std::optional<std::vector<char>> bytes);

  /// Seals the result from its encoded bytes (a small result sent back).
  virtual void seal_encoded(std::span<const char> bytes);

  /// Seals the result as living on another node.
  virtual void seal_remote(std::shared_ptr<remote_object> obj, size_t encoded_size);

  /// Who holds the resources the pool leases for this task (their GPU ids
  /// are looked up by it): the task itself, or the actor a job builds.
  virtual const void* lease_owner() const noexcept { return this; }

  /// Marks the task cancelled and wakes it if it blocks in a `get`.
  void request_cancel() noexcept;

  /// Lets go of the arguments when the task will not run again: its
  /// function returned (after its result was admitted to the store, just
  /// before it is sealed) or failed for the last time (before its error is
  /// sealed). Whoever the seal wakes then finds the arguments' objects held
  /// by their other refs only: the driver's next put of the tutorial's 800
  /// MB array finds the previous one's buffer back in the pool, where a
  /// reader task that dropped its argument only after waking the driver
  /// made it copy into fresh memory (docs/performance.md, "Large puts").
  /// The listings keep the arguments' ids and sizes (`released_args`).
  /// A simulated run keeps them: the simulator's lineage runs the same
  /// spec again to rebuild a lost result (sim_lineage.cpp). A cluster's
  /// rebuild does not need them: it keeps the encoded spec and the refs it
  /// reads (remote_object). Once called, the task is not run again.
  void release_args() noexcept;

  /// Whether `release_args` let go of the arguments.
  bool args_released() const noexcept { return args_released_.load(std::memory_order_acquire); }

  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  const std::string& function_name;
  /// The job library the function came from (function_info::library), for
  /// the code a spec sent to another node names; null: the program's own.
  const std::string* library = nullptr;
  /// A streaming generator's back pressure (`generator_backpressure`; 0:
  /// none), sent with the task when it runs on another node.
  uint64_t item_window = 0;

private:
  /// The task's own options, when they are not the shared defaults.
  std::optional<task_options> own_opts_;

public:
  /// The task's options, immutable once it is made: its own (`own_opts_`)
  /// or the process's shared defaults.
  const task_options& opts;
  /// Where the value goes; set by the runtime at submission.
  slot_ptr result;
  /// The objects passed as arguments, in argument order. Its size is fixed
  /// at construction; `release_args` empties its elements under
  /// `args_lock`, which a reader on another thread (a listing, `why`, a
  /// cancel's record) takes.
  std::vector<slot_ptr> deps;
  mutable spin_lock args_lock;
  /// The object arguments' ids and sizes once `release_args` let go of
  /// them, for the listings (only a task the event recorder tracks).
  std::vector<task_info::argument> released_args;
  /// Runs so far, for retries. Written by the executor thread that runs
  /// the task, read by any thread that lists or cancels it (state API,
  /// `cancel`), hence atomic.
  std::atomic<int> attempts{0};
  /// The pool keeps the task's resources leased after it ran: an actor's
  /// constructor job, whose lease lasts the actor's life (`release`).
  bool keeps_lease = false;
  /// The parker of the executor thread while the task blocks in `get`.
  std::atomic<parker*> blocked_on{nullptr};

  /// Storage for the handle of the task's actor, managed by the runtime in
  /// task_submission.cpp (keeps CAF headers out of user code).
  alignas(void*) unsigned char runner_storage[sizeof(void*)] = {};
  std::atomic<bool> has_runner{false};

  /// What the event recorder knows of the task (state API, timeline).
  task_trace trace;
  /// The tasks and actor calls it submitted while it ran (recursive cancel).
  child_list children;

  /// The task's own options, to change: in the constructor of a task made
  /// with the `task_options&&` constructor (an actor's job, a bundle's
  /// hold), and for a task in a placement group laid out over the cluster,
  /// pinned to its bundle's node once that is known
  /// (`placement_registry::pin`; `place_task_in_group` made its options).
  /// Throws `std::bad_optional_access` for a task sharing the defaults.
  task_options& own_options() { return own_opts_.value(); }

protected:
  /// Lets go of the arguments the task holds itself (typed_task); called
  /// by `release_args`.
  virtual void release_held() noexcept {}

private:
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> args_released_{false};
};

using task_ptr = std::shared_ptr<task_spec>;

/// Decodes an encoded task result into a slot of type `R`; used by
/// typed_task::seal_encoded.
void seal_decode_error(object_slot& slot, const std::string& task, const std::string& what);

/// Says once per function, on stderr, that a driver's tasks of `spec`'s
/// function stay on the driver and why (`task_spec::travel_blocker`): in a
/// cluster that is never silent.
void report_stays_on_driver(const task_spec& spec, const std::string& why);

/// Submits a task: creates its result slot and its actor. Returns the slot.
slot_ptr submit(task_ptr spec);

} // namespace manta::detail
