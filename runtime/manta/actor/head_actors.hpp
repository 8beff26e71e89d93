#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

/// The actor directory's door to the head: named actors that another
/// driver created (attached_actor.hpp). The local core (store, sched,
/// actor) includes no cluster code (issue 22): it asks these functions,
/// declared here by the code that needs them and implemented by the
/// cluster (cluster/head_actors.cpp), whose client asks the head.
namespace manta::detail {

/// What the head said of a named actor.
struct head_actor_answer {
  bool answered = false; ///< false: no answer within the timeout
  std::string why;       ///< not empty: the head has no such actor, and why
  std::string cls;       ///< the actor's class (demangled)
  uint16_t node = 0;     ///< where it lives
  uint64_t actor_id = 0; ///< its id there
};

/// Asks the head for the actor named `name` in `ns`, waiting `timeout` at
/// most; none if this process is no driver of a cluster (nobody to ask).
std::optional<head_actor_answer> ask_head_for_actor(const std::string& ns, const std::string& name,
                                                    std::chrono::milliseconds timeout);

/// Kills the actor named `name` in `ns` that lives on `node` under `id`
/// (another driver's, attached to from here): through the head, which
/// forgets its name. Nothing outside a cluster.
void kill_head_actor(const std::string& ns, const std::string& name, uint16_t node, uint64_t id);

} // namespace manta::detail
