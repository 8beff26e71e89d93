#pragma once

#include "actors/cluster_atoms.hpp"
#include "manta/cluster/object_directory.hpp"

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

/// The distributed object directory actor (the design card's): the owner's
/// record of which nodes hold copies of its objects (object_directory.hpp),
/// as an actor of its own that receives what changes it (its message tags
/// are cluster_atoms.hpp's, "the object directory actor").
namespace manta::actors {

/// What a sweep hands back: objects let go of, each with its holders.
using swept_copies = std::vector<std::pair<uint64_t, std::vector<uint16_t>>>;

class directory_door;
struct object_directory_state;
using object_directory_actor = caf::stateful_actor<object_directory_state>;

/// The directory actor's behavior: every message of cluster_atoms.hpp's
/// object directory section, applied to `door`'s directory in the order
/// the actor receives them.
caf::behavior object_directory_behavior(object_directory_actor* self,
                                        std::shared_ptr<directory_door> door);

/// The directory the actor keeps, and the one narrow synchronous door to it
/// its spawner (the driver's cluster client) keeps: the steps the client
/// takes while it places a task or restarts a fetch, inside one handler,
/// whose very next step reads what they wrote. A message there would change
/// what the client does: a broadcast placed in one burst spreads over the
/// holders because each placement's `add` is seen by the next task's
/// `balance` at once; a fetch whose copies all failed `erase`s them and
/// restarts, and must not find them again (it would retry them instead of
/// rebuilding). What the client learns from other actors (a worker's copy
/// reports, a task's end, a node's loss) goes to the actor as messages, in
/// the order the client got them (a task's end after the copy reports its
/// node sent before its result). Such a message may be applied after a door
/// step the client took later: a reader added again on the same node right
/// after a `copysettle` of a task that never reported its copy is dropped
/// by it until that reader reports its own, so only who serves a read
/// changes for that while, never what is read. A mutex keeps both ways
/// apart.
class directory_door {
public:
  /// `node` holds or is reading a copy of `id` (object_directory::add).
  void add(uint64_t id, uint16_t node, const std::weak_ptr<const void>& alive);

  /// The nodes holding copies of `id` (object_directory::copies).
  std::vector<uint16_t> copies(uint64_t id) const;

  /// Orders `holders` of `id` for a reader (object_directory::balance).
  void balance(uint64_t id, std::vector<uint16_t>& holders, size_t active,
               const std::weak_ptr<const void>& alive);

  /// Forgets `id`; the nodes holding copies (object_directory::erase).
  std::vector<uint16_t> erase(uint64_t id);

  /// Forgets the objects let go of; them with their holders
  /// (object_directory::sweep).
  swept_copies sweep();

  /// Objects tracked.
  size_t size() const;

private:
  friend caf::behavior object_directory_behavior(object_directory_actor* self,
                                                 std::shared_ptr<directory_door> door);

  /// Runs `f` on the directory under the lock (the actor's other handlers).
  template <class F>
  auto locked(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    return f(dir_);
  }

  mutable std::mutex mtx_;
  object_directory dir_;
};

/// The directory actor's state: the directory, shared with its door.
struct object_directory_state {
  /// The directory, behind the lock its spawner's door takes too.
  std::shared_ptr<directory_door> door;

  /// The actor's name in CAF's logs.
  static inline const char* name = "manta.object_directory";
};

} // namespace manta::actors
