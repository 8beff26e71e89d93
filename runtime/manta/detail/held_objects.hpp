#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace manta::detail {

class copy_progress;

/// Bytes a node serves; `keep` holds them while they are sent. `progress`
/// is set while they are a copy still being read from other nodes: only
/// the chunks that arrived may be sent.
struct held_bytes {
  std::shared_ptr<const void> keep;
  const char* data = nullptr;
  size_t size = 0;
  std::shared_ptr<copy_progress> progress;
};

/// Objects are read in chunks of this size (the last one shorter), each
/// from whichever holder's connection is free; a copy being read serves
/// the chunks it has.
inline constexpr uint64_t transfer_chunk = uint64_t{4} << 20;

/// Which chunks of a copy being read have arrived, so the node can serve
/// them to other readers before the whole object is here (a broadcast
/// then flows down a chain of readers instead of all reading one holder).
class copy_progress {
public:
  explicit copy_progress(uint64_t size);

  /// Chunk `index` (of `transfer_chunk` bytes) has arrived.
  void arrived(uint64_t index);

  /// The read failed: nothing more arrives.
  void fail();

  /// Waits until the bytes [offset, offset + length) have arrived; false
  /// if the read failed or `limit` passed first.
  bool wait(uint64_t offset, uint64_t length, std::chrono::milliseconds limit);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<bool> have_;
  bool failed_ = false;
};

/// The encoded objects this node keeps for owners on other nodes: large
/// task results made here (kept until their owner frees them), and copies
/// of objects read from other nodes (cached: counted in the object store's
/// memory budget, dropped first when it is short, and when the owner frees
/// the object). Read by the node manager and the transfer server.
class held_objects {
public:
  static held_objects& instance();

  /// Keeps a result made here for its owner.
  void put(uint64_t id, std::shared_ptr<const std::vector<char>> bytes);
  /// The complete bytes of `id`, or null.
  std::shared_ptr<const std::vector<char>> find(uint64_t id) const;
  /// Drops `id` (its owner freed it).
  void erase(uint64_t id);
  /// Drops every object whose id names `node` (its owner, a driver, is
  /// gone: its results and the copies of its objects); the bytes freed.
  size_t erase_node(uint16_t node);
  /// The bytes of `id` as the transfer server sends them.
  std::optional<held_bytes> view(uint64_t id) const;

  /// Starts a cached copy of `id` (`size` bytes): a buffer of that size,
  /// served chunk by chunk as `progress` says they arrived. `on_drop` runs
  /// if memory pressure drops the copy later. Null if `id` is here already
  /// or no room can be made in the memory budget.
  std::shared_ptr<std::vector<char>> start_copy(uint64_t id, uint64_t size,
                                                std::function<void()> on_drop,
                                                std::shared_ptr<copy_progress>& progress);
  /// The copy of `id` is complete.
  void finish_copy(uint64_t id);
  /// Reading the copy of `id` failed: it is dropped.
  void abort_copy(uint64_t id);

  /// Drops complete cached copies, oldest first, until `need` bytes are
  /// freed or none is left; returns the bytes freed.
  size_t evict(size_t need);

  /// Bytes of cached copies (also counted in object_table::bytes_used).
  size_t cached_bytes() const;

private:
  struct entry {
    std::shared_ptr<const std::vector<char>> bytes;
    std::shared_ptr<copy_progress> progress; ///< null once complete
    bool cached = false;
    uint64_t seq = 0;
    std::function<void()> on_drop;
  };

  /// Unaccounts a cached entry leaving the map (lock held).
  void forget(entry& e);

  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, entry> map_;
  size_t cached_ = 0;
  uint64_t next_seq_ = 0;
};

/// What this process serves for object `id`: a held object (kept for an
/// owner elsewhere), else a sealed value of its own object table, encoded
/// (without a copy for contiguous plain data). Empty if it has neither.
std::optional<held_bytes> local_object_bytes(uint64_t id);

} // namespace manta::detail
