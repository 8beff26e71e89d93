#pragma once

#include "manta/store/object_slot.hpp"
#include "manta/core/spin_lock.hpp"

#include <array>
#include <atomic>
#include <functional>
#include <mutex>

#include <boost/unordered/unordered_flat_map.hpp>

namespace manta::detail {

/// The process's index of live objects, by id. Slots register themselves on
/// creation and leave when the last reference to them drops, so the table
/// never keeps an object alive: it only lets the store actor, the tools and
/// `shutdown` find objects by id. Sharded to keep `put` and task submission
/// from contending on one lock.
class object_table {
public:
  static object_table& instance();

  /// Creates and registers a pending slot.
  slot_ptr create(object_id id, const std::shared_ptr<task_spec>& producer = nullptr);

  /// The slot for `id`, or null if it has been freed.
  slot_ptr find(object_id id);

  /// Calls `f` for every live slot (on a snapshot: `f` may take locks).
  void for_each(const std::function<void(const slot_ptr&)>& f);

  /// Number of live objects (a sum over the shards, each read at its own
  /// moment).
  size_t count() const noexcept;

  /// Bytes held in memory by sealed values (spilled ones not counted).
  size_t bytes_used() const noexcept { return bytes_.load(std::memory_order_relaxed); }

  // -- called by object_slot only ---------------------------------------------

  void erase(object_id id, size_t size_bytes);
  void account(size_t size_bytes) { bytes_.fetch_add(size_bytes, std::memory_order_relaxed); }
  void unaccount(size_t size_bytes) { bytes_.fetch_sub(size_bytes, std::memory_order_relaxed); }

private:
  static constexpr size_t num_shards = 16;

  struct alignas(64) shard {
    /// A spin lock: held for one probe of the map (every task takes it
    /// twice, at its result's creation and at its last reference), where a
    /// mutex's unlock costs a second atomic write.
    spin_lock mtx;
    /// Open addressing: no node to allocate per object, and an erase finds
    /// its entry in one probe, where a node map walked its bucket's chain
    /// (freeing 100,000 objects cost about 1.1-2.4 us each with one).
    boost::unordered_flat_map<object_id, std::weak_ptr<object_slot>, std::hash<object_id>> slots;
    /// `slots.size()` for `count`, written only under `mtx` (a plain load
    /// and store, no read-modify-write: every task's result passes here
    /// twice, and one counter for all shards was a contended line).
    std::atomic<size_t> size{0};
  };

  shard& shard_of(object_id id) { return shards_[std::hash<object_id>{}(id) % num_shards]; }

  std::array<shard, num_shards> shards_;
  std::atomic<size_t> bytes_{0};
};

} // namespace manta::detail
