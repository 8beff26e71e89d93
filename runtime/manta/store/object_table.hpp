#pragma once

#include "manta/store/object_slot.hpp"
#include "manta/core/spin_lock.hpp"

#include <array>
#include <atomic>
#include <functional>
#include <mutex>

#include <boost/unordered/unordered_flat_map.hpp>

namespace manta::detail {

class object_store;

/// A store's index of live objects, by id. Slots register themselves on
/// creation and leave when the last reference to them drops, so the table
/// never keeps an object alive: it only lets the store actor, the tools and
/// `shutdown` find objects by id. Sharded to keep `put` and task submission
/// from contending on one lock.
///
/// Its count of live slots is also its store's reference count
/// (`object_store`): every slot keeps the store alive, at the cost of the
/// count's one atomic add the table paid per slot anyway; other holders
/// (`hold`) are counted in both that count and `holds_`.
class object_table {
public:
  explicit object_table(object_store& owner) noexcept : owner_(owner) {}

  object_table(const object_table&) = delete;
  object_table& operator=(const object_table&) = delete;

  /// Creates and registers a pending slot.
  slot_ptr create(object_id id, const std::shared_ptr<task_spec>& producer = nullptr);

  /// The slot for `id`, or null if it has been freed.
  slot_ptr find(object_id id);

  /// Calls `f` for every live slot (on a snapshot: `f` may take locks).
  void for_each(const std::function<void(const slot_ptr&)>& f);

  /// Number of live objects (slots).
  size_t count() const noexcept {
    auto holds = holds_.load(std::memory_order_relaxed);
    auto refs = refs_.load(std::memory_order_relaxed);
    return refs > holds ? refs - holds : 0;
  }

  /// Bytes held in memory by sealed values (not spilled ones, nor those kept in their slot).
  size_t bytes_used() const noexcept { return bytes_.load(std::memory_order_relaxed); }

  // -- the store's references ---------------------------------------------------

  /// One more holder that is not a slot (the runtime, a counted value, a
  /// pooled buffer in use).
  void hold() noexcept {
    refs_.fetch_add(1, std::memory_order_relaxed);
    holds_.fetch_add(1, std::memory_order_relaxed);
  }

  /// That holder let go; the last reference destroys the store.
  void unhold() noexcept {
    holds_.fetch_sub(1, std::memory_order_relaxed);
    release();
  }

  // -- called by object_slot only ---------------------------------------------

  /// A slot of this store was made (registered by `create` or not).
  void adopt() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }

  /// A slot of this store is gone: leaves the index; its reference goes
  /// last (it may destroy the store).
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
  };

  shard& shard_of(object_id id) { return shards_[std::hash<object_id>{}(id) % num_shards]; }

  void release() noexcept;

  object_store& owner_;
  std::array<shard, num_shards> shards_;
  /// Live slots plus other holders; starts with the store's maker's.
  std::atomic<size_t> refs_{1};
  std::atomic<size_t> holds_{1};
  std::atomic<size_t> bytes_{0};
};

} // namespace manta::detail
