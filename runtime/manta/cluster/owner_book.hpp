#pragma once

#include <caf/actor_addr.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_set>

namespace manta::actors {

/// What an owner that is gone for good left on this node.
struct gone_owner {
  /// The large results made here for it (held_objects ids).
  std::unordered_set<uint64_t> results;
  /// Its node index (the high 16 bits of the ids it makes); 0 if unknown.
  uint16_t node = 0;
};

/// A worker's book of the owners (drivers) on other nodes that sent it
/// work, and of the results it holds for each. A closed connection may be
/// a cut the owner recovers from (it reconnects within a second or two and
/// may read those results), or the owner's death: CAF cannot tell them
/// apart. So a closed owner is swept only after a grace period in which it
/// did not come back (any message from it again), and then everything it
/// left here is dropped: a driver that exits or is killed frees its
/// results, queued and running tasks on every worker (docs/cluster.md,
/// "A driver that dies").
class owner_book {
public:
  /// `owner` sent work with id `id` (its node index is in the high bits);
  /// true if it must be monitored now (first message, or first since its
  /// connection closed, which also cancels a pending sweep).
  bool seen(const caf::actor_addr& owner, uint64_t id);

  /// A large result `id` is held here for `owner`.
  void held(const caf::actor_addr& owner, uint64_t id);

  /// `owner` freed `id`.
  void freed(const caf::actor_addr& owner, uint64_t id);

  /// The connection to `owner` closed: returns the ticket its sweep needs.
  uint64_t closed(const caf::actor_addr& owner);

  /// The grace after `closed` passed: what `owner` left here if it did not
  /// come back meanwhile (it is then forgotten), else nothing.
  std::optional<gone_owner> sweep(const caf::actor_addr& owner, uint64_t ticket);

  /// The owner on node `node` whose connection is open, if any.
  std::optional<caf::actor_addr> owner_on(uint16_t node) const;

  /// Owners known (monitored or waiting for their sweep).
  size_t size() const { return owners_.size(); }

private:
  struct entry {
    gone_owner left;
    /// Non-zero while its connection is closed: the ticket of its sweep.
    uint64_t closed = 0;
    bool watched = false;
  };
  std::map<caf::actor_addr, entry> owners_;
  uint64_t next_ticket_ = 0;
};

} // namespace manta::actors
