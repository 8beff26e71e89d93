#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::actors {

/// The owner's object directory: which other nodes hold copies of the
/// objects it owns, beyond the node that made each one (remote_object::node)
/// or this node (objects it put or made itself). A node is listed from the
/// moment the owner sends it a task that reads the object (it serves the
/// chunks it has while it reads) until it reports that the read failed or
/// that memory pressure dropped its copy, its task ends without it having
/// reported a copy, it dies, or the owner lets go of the object. Only the
/// object directory actor keeps one (actors/object_directory_actor.hpp),
/// for the driver's cluster client.
class object_directory {
public:
  /// `node` holds or is reading a copy of `id`. The first call for `id`
  /// names what keeps the object alive at the owner (its slot): once that
  /// is gone, `sweep` hands the copies back to be freed.
  void add(uint64_t id, uint16_t node, const std::weak_ptr<const void>& alive);

  /// `node` reported that it holds `id`; false if the owner no longer
  /// tracks `id` (the node should free its copy).
  bool confirm(uint64_t id, uint16_t node);

  /// `node` no longer holds `id`.
  void remove(uint64_t id, uint16_t node);

  /// The task that made `node` a holder of `id` ended: unless it reported
  /// its copy (`confirm`), `node` is no holder.
  void settle(uint64_t id, uint16_t node);

  /// The nodes holding copies of `id`, in the order they were added.
  std::vector<uint16_t> copies(uint64_t id) const;

  /// Orders `holders` of `id` (its home and copies) for a reader: those
  /// named to the fewest readers first, and counts this reader against
  /// the first `active` (the ones it reads from; the rest stand by). So a
  /// broadcast spreads over the holders instead of all reading the home.
  void balance(uint64_t id, std::vector<uint16_t>& holders, size_t active,
               const std::weak_ptr<const void>& alive);

  /// Drops a dead node from every record. (Records themselves last until
  /// the owner lets go of their objects: `erase`, `sweep`.)
  void drop_node(uint16_t node);

  /// Forgets `id` (its owner freed it); returns the nodes holding copies.
  std::vector<uint16_t> erase(uint64_t id);

  /// Forgets every object its owner let go of; returns them with the nodes
  /// holding copies.
  std::vector<std::pair<uint64_t, std::vector<uint16_t>>> sweep();

  /// Objects tracked.
  size_t size() const noexcept { return records_.size(); }

private:
  struct record {
    std::vector<uint16_t> nodes;
    std::vector<uint16_t> confirmed; ///< the nodes that reported their copy
    std::weak_ptr<const void> alive;
    /// Readers each holder (home included) was named to as an active one.
    std::unordered_map<uint16_t, uint32_t> named;
  };

  std::unordered_map<uint64_t, record> records_;
};

} // namespace manta::actors
