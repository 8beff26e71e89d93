#pragma once

#include "manta/actor/actor_anchor.hpp"
#include "manta/actor/actor_call.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>

/// Handles to named actors on workers that another driver created: a
/// detached actor that outlived its driver, or a named actor whose driver
/// still runs (docs/cluster.md, "Jobs"). `get_actor` finds them through
/// the head when no actor of that name lives in this process. The handle's
/// core is an ordinary remote actor_core (calls queue, keep their order and
/// travel as TaskSpecs to the actor's node), whose "construction" only
/// attaches to the instance there: dropping the handle leaves the actor
/// where it is; `kill(handle)` kills it there.
namespace manta::detail {

class actor_core;

/// The constructor of an attached handle: nothing to build, the instance
/// lives on `node` under `id` already.
class attach_ctor final : public actor_ctor {
public:
  attach_ctor(uint16_t node, uint64_t id) : node_(node), id_(id) {}
  std::shared_ptr<void> construct() override;
  bool remote_capable() const noexcept override { return true; }
  uint16_t node() const noexcept { return node_; }
  uint64_t id() const noexcept { return id_; }

private:
  uint16_t node_;
  uint64_t id_;
};

/// The actor named `name` in `ns` as the head knows it, attached to from
/// here (a new handle each time the last one went); null if this process
/// is no driver of a cluster. Throws actor_not_found_error when the head
/// knows none or it is of another class than `cls`.
anchor_ptr find_on_head(const std::type_info& cls, const std::string& name, const std::string& ns);

/// `core` is an attached handle: asks its node to drop the instance and
/// the head to forget its name (kill). False for every other actor.
bool kill_attached(const actor_core& core);

/// The runtime shuts down (called before it kills its actors): this
/// driver's detached actors on workers are left there, as when the driver
/// dies, instead of being killed with the others.
void keep_detached_actors();

} // namespace manta::detail
