#pragma once

#include "manta/detail/task_spec.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

/// Message tags of the runtime's actors. CAF atoms hold at most 10
/// characters.
namespace manta::actors {

/// object slot -> task_runner: one of your arguments was sealed.
using ready_atom = caf::atom_constant<caf::atom("ready")>;
/// user -> task_runner: stop waiting, the task was cancelled.
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// anyone -> node_manager: what is free and what is there in total?
using resources_atom = caf::atom_constant<caf::atom("resources")>;
/// timer or object slot -> actor_host: a suspended async method may go on.
using resume_atom = caf::atom_constant<caf::atom("resume")>;

} // namespace manta::actors

// In-process only: never crosses a node boundary (what does is described in
// schemas/), so it needs no serializer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::task_ptr)
