#pragma once

#include "manta/core/error_kind.hpp"
#include "manta/net/wire.hpp"

#include <exception>
#include <string>

// The one place where a failure turns into what crosses the wire
// (schema::TaskFailure) and back into the exception the caller's `get`
// raises. A failure from another node raises what the same failure raises
// where it happened: the class of its kind (error_kind.hpp), or, for an
// exception of the user's own, a task_error naming its type.

namespace manta::detail {

/// The kind of `e`: the entry of its exact dynamic type in
/// MANTA_ERROR_KINDS, else `task_error` (the user's own exception, or a
/// subclass of one of Manta's, which only its type name describes).
error_kind kind_of(const std::exception& e) noexcept;

/// The exception of kind `k` with `message` as its text. Kind `task_error`
/// (which needs a type, task and node) gives a task_error of an unnamed type.
std::exception_ptr make_error(error_kind k, std::string message);

/// What crosses the wire when task `task_name` failed with `ep` on `node`:
/// a task_error (a nested task's) keeps its type name, message and the node
/// where it happened; one of Manta's errors travels as its kind and text;
/// any other exception as kind task_error with its dynamic type's name.
wire::failure_message to_failure(const std::exception_ptr& ep, const std::string& task_name,
                                 const std::string& node);

/// The exception that failure `f` from another node raises here.
std::exception_ptr from_failure(const wire::failure_message& f);

} // namespace manta::detail
