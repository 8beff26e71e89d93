#pragma once

#include "manta/detail/object_slot.hpp"
#include "manta/detail/task_spec.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <exception>

/// Message tags of the runtime's actors. CAF atoms hold at most 10
/// characters.
namespace manta::actors {

/// task_runner -> node_manager: grant me my task's resources.
using lease_atom = caf::atom_constant<caf::atom("lease")>;
/// task_runner -> node_manager: my task finished, take its resources back.
using release_atom = caf::atom_constant<caf::atom("release")>;
/// executor thread -> node_manager: my task blocks in get; lend its CPUs out.
using block_atom = caf::atom_constant<caf::atom("block")>;
/// executor thread -> node_manager: my task runs again.
using unblock_atom = caf::atom_constant<caf::atom("unblock")>;
/// executor thread -> task_runner: the task ran (with an error or not).
using done_atom = caf::atom_constant<caf::atom("done")>;
/// object slot -> task_runner: one of your arguments was sealed.
using ready_atom = caf::atom_constant<caf::atom("ready")>;
/// user -> task_runner: stop waiting, the task was cancelled.
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// node_manager -> task_runner: your task will not run, seal this error.
using reject_atom = caf::atom_constant<caf::atom("reject")>;
/// anyone -> node_manager: what is free and what is there in total?
using resources_atom = caf::atom_constant<caf::atom("resources")>;
/// runtime -> node_manager: the node shuts down, reject everything queued.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

} // namespace manta::actors

// In-process only: these never cross a node boundary (what does is described
// in schemas/), so they need no serializer.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(manta::detail::task_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::exception_ptr)
