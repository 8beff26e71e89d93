#pragma once

#include <stdexcept>
#include <string>

namespace manta {

/// Base of every error Manta reports to user code. `what()` names the problem
/// and, where one exists, a hint for fixing it.
class error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Raised by `get` when the task that produces the value threw. Carries the
/// original exception's type name and message, the task's name and the node
/// it ran on, so the failure can be traced without a debugger.
class task_error : public error {
public:
  task_error(std::string type_name, std::string message, std::string task_name,
             std::string node); ///< What failed where.

  const std::string& type_name() const noexcept { return type_name_; } ///< The exception type.
  const std::string& message() const noexcept { return message_; } ///< Its `what()`.
  const std::string& task_name() const noexcept { return task_name_; } ///< The task.
  const std::string& node() const noexcept { return node_; } ///< The node the task ran on.

private:
  std::string type_name_;
  std::string message_;
  std::string task_name_;
  std::string node_;
};

/// Raised by `get` with a timeout when the value is not there in time.
class get_timeout_error : public error {
public:
  using error::error;
};

/// Raised by `get` on the result of a task that was cancelled.
class task_cancelled_error : public error {
public:
  using error::error;
};

/// Raised when a task asks for more resources than the cluster has in total,
/// so it could never be scheduled.
class infeasible_task_error : public error {
public:
  using error::error;
};

/// Raised when a call to an actor cannot be served because the actor died.
class actor_died_error : public error {
public:
  using error::error;
};

/// Raised when an object's value can no longer be produced or fetched.
class object_lost_error : public error {
public:
  using error::error;
};

/// Raised when a borrowed object is lost because its owner, the node that
/// made it and counted who borrowed it (docs/cluster.md, "Borrowed refs"),
/// died or cannot be reached: an object does not outlive its owner, and
/// only the owner could have rebuilt it. Ray's OwnerDiedError; as there, it
/// is an `object_lost_error`, so code catching that catches this too.
class owner_died_error : public object_lost_error {
public:
  using object_lost_error::object_lost_error;
};

/// Raised by `put` (and task results) when the object store cannot make room.
class object_store_full_error : public error {
public:
  using error::error;
};

/// Raised by `get` when the node's memory monitor stopped the task (the
/// node's memory use crossed `init_options::memory_usage_threshold` of its
/// limit) on its last allowed run. The message names the node, its use and
/// limit, the threshold, and what to do.
class out_of_memory_error : public error {
public:
  using error::error;
};

/// Raised by `get` when the nodes a task ran on died while running it
/// `max_node_failures` times (docs/reliability.md): the task itself may be
/// what kills them (out of memory, a crash), so it is not sent to another.
class node_died_error : public error {
public:
  using error::error;
};

/// Raised when the runtime is used before `init` or after `shutdown`.
class not_initialized_error : public error {
public:
  using error::error;
};

/// Raised when a function is called as a task without having been registered
/// with `MANTA_REMOTE`.
class unknown_function_error : public error {
public:
  using error::error;
};

/// Raised for invalid arguments to the runtime itself (bad options).
class invalid_argument_error : public error {
public:
  using error::error;
};

} // namespace manta
