#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

/// Every error class of Manta's own that a failure crossing nodes can carry,
/// as X(kind, schema enumerant, class in namespace manta), in the order of
/// their codes. The codes themselves are schemas/task.capnp's `ErrorKind`
/// (what the wire carries); this is the one C++ list, from which the enum,
/// the class names and the exception of each kind (wire_failure.cpp) are
/// made. wire_result.cpp checks every entry against the schema's enumerant at
/// compile time, and wire_test that the schema has no other, so the two
/// cannot drift apart. `actor_crash` is not here: it is the signal that
/// kills an actor on the node that hosts it, and re-raising it on the
/// caller's node would kill the caller's stand-in too; like a user's own
/// subclass of `manta::error`, it crosses as a `task_error` named by type.
#define MANTA_ERROR_KINDS(X)                                                                  \
  X(task_error, TASK_ERROR, task_error)                                                       \
  X(generic, GENERIC, error)                                                                  \
  X(get_timeout, GET_TIMEOUT, get_timeout_error)                                              \
  X(task_cancelled, TASK_CANCELLED, task_cancelled_error)                                     \
  X(infeasible_task, INFEASIBLE_TASK, infeasible_task_error)                                  \
  X(actor_died, ACTOR_DIED, actor_died_error)                                                 \
  X(object_lost, OBJECT_LOST, object_lost_error)                                              \
  X(object_store_full, OBJECT_STORE_FULL, object_store_full_error)                            \
  X(out_of_memory, OUT_OF_MEMORY, out_of_memory_error)                                        \
  X(node_died, NODE_DIED, node_died_error)                                                    \
  X(not_initialized, NOT_INITIALIZED, not_initialized_error)                                  \
  X(unknown_function, UNKNOWN_FUNCTION, unknown_function_error)                               \
  X(invalid_argument, INVALID_ARGUMENT, invalid_argument_error)                               \
  X(actor_exists, ACTOR_EXISTS, actor_exists_error)                                           \
  X(actor_not_found, ACTOR_NOT_FOUND, actor_not_found_error)                                  \
  X(pending_calls_limit, PENDING_CALLS_LIMIT, pending_calls_limit_error)                      \
  X(queue_empty, QUEUE_EMPTY, queue_empty_error)                                              \
  X(queue_full, QUEUE_FULL, queue_full_error)                                                 \
  X(placement_group_infeasible, PLACEMENT_GROUP_INFEASIBLE, placement_group_infeasible_error) \
  X(placement_group_removed, PLACEMENT_GROUP_REMOVED, placement_group_removed_error)          \
  X(placement_group_not_found, PLACEMENT_GROUP_NOT_FOUND, placement_group_not_found_error)    \
  X(owner_died, OWNER_DIED, owner_died_error)

namespace manta::detail {

/// Which of Manta's errors a failure is (schemas/task.capnp, ErrorKind).
/// `task_error`: the code threw an exception of its own (or one Manta does
/// not list), named by type name in the failure.
enum class error_kind : uint16_t {
#define MANTA_ERROR_KIND_ENUM(kind, schema_name, cls) kind,
  MANTA_ERROR_KINDS(MANTA_ERROR_KIND_ENUM)
#undef MANTA_ERROR_KIND_ENUM
};

/// How many kinds this build knows: codes 0 to `error_kind_count - 1`.
inline constexpr uint16_t error_kind_count = 0
#define MANTA_ERROR_KIND_COUNT(kind, schema_name, cls) +1
  MANTA_ERROR_KINDS(MANTA_ERROR_KIND_COUNT)
#undef MANTA_ERROR_KIND_COUNT
  ;

/// The kind of a code read from another process, or nothing for a code
/// this build does not know (a peer of a newer build, or a hostile one).
constexpr std::optional<error_kind> error_kind_from_code(uint16_t code) noexcept {
  if (code >= error_kind_count)
    return std::nullopt;
  return static_cast<error_kind>(code);
}

/// The class of a kind as user code names it, e.g. "manta::actor_died_error".
constexpr std::string_view error_class_name(error_kind k) noexcept {
  constexpr std::array<std::string_view, error_kind_count> names{
#define MANTA_ERROR_KIND_NAME(kind, schema_name, cls) "manta::" #cls,
    MANTA_ERROR_KINDS(MANTA_ERROR_KIND_NAME)
#undef MANTA_ERROR_KIND_NAME
  };
  return names[static_cast<uint16_t>(k)];
}

/// The kind's schema enumerant as Cap'n Proto's generated C++ spells it
/// ("ACTOR_DIED" for `actorDied`): what wire_test compares with the
/// schema's own list.
constexpr std::string_view error_kind_schema_name(error_kind k) noexcept {
  constexpr std::array<std::string_view, error_kind_count> names{
#define MANTA_ERROR_KIND_SCHEMA(kind, schema_name, cls) #schema_name,
    MANTA_ERROR_KINDS(MANTA_ERROR_KIND_SCHEMA)
#undef MANTA_ERROR_KIND_SCHEMA
  };
  return names[static_cast<uint16_t>(k)];
}

} // namespace manta::detail
