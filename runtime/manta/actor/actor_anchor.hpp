#pragma once

#include "manta/actor_options.hpp"
#include "manta/actor/actor_call.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>

namespace manta::detail {

/// What every handle to one actor shares. When the last handle goes away
/// (and the actor is not detached), the actor finishes its queued calls
/// and exits, as in Ray.
struct actor_anchor {
  explicit actor_anchor(std::shared_ptr<actor_core> c) : core(std::move(c)) {}
  ~actor_anchor();
  actor_anchor(const actor_anchor&) = delete;
  actor_anchor& operator=(const actor_anchor&) = delete;

  std::shared_ptr<actor_core> core;
};

using anchor_ptr = std::shared_ptr<actor_anchor>;

/// Creates an actor of class `cls` (registered with MANTA_ACTOR): starts
/// its host actor and schedules its constructor, here or (in a cluster) on
/// another node. Throws on a taken name. `restarts` counts earlier
/// instances (an actor another node's owner re-creates here); `id` is the
/// actor's id as its owner chose it (0: a fresh one).
anchor_ptr create_actor(const std::type_info& cls, actor_options opts,
                        std::unique_ptr<actor_ctor> ctor, int restarts = 0, uint64_t id = 0);

/// Throws `invalid_argument_error` when an actor's `what` ("name" or
/// "namespace"), given to `where`, is empty or only white space.
void check_actor_name(const std::string& value, const char* what, const char* where);

/// Finds a named actor of class `cls`; throws if none or of another class.
anchor_ptr find_actor(const std::type_info& cls, const std::string& name, const std::string& ns);

/// Kills the actor (see manta::kill).
void kill_actor(actor_core& core, bool no_restart);

/// "counter 'c1'" or "counter": how errors name the actor.
const std::string& actor_display_name(const actor_core& core);

} // namespace manta::detail
