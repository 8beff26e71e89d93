#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace manta::detail {

class copy_progress;
class object_store;

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
/// of objects read from other nodes (cached). Both count in the object
/// store's memory budget for as long as their bytes live
/// (`accounted_value.hpp`). When the store needs room, cached copies are
/// dropped first, then results are spilled to the spill store like any
/// other object (`held_spill.cpp`) and read back when a reader asks for
/// them. Read by the node manager and the transfer server.
class held_objects {
public:
  /// The held objects of `store`, whose budget they count in.
  explicit held_objects(object_store& store) noexcept : store_(store) {}

  held_objects(const held_objects&) = delete;
  held_objects& operator=(const held_objects&) = delete;

  /// Keeps a result made here for its owner. `bytes` must be counted in
  /// the budget already, for as long as they live: a sealed slot's value
  /// (the task admitted it), or made with `accounted`.
  void put(uint64_t id, std::shared_ptr<const std::vector<char>> bytes);
  /// The complete bytes of `id` (read back from its spill file if it was
  /// spilled), or null.
  std::shared_ptr<const std::vector<char>> find(uint64_t id);
  /// Drops `id` (its owner freed it); its size, 0 if it was not here.
  size_t erase(uint64_t id);
  /// Drops every object whose id names `node` (its owner, a driver, is
  /// gone: its results and the copies of its objects); the bytes freed.
  size_t erase_node(uint16_t node);
  /// The bytes of `id` as the transfer server sends them (read back from
  /// its spill file if it was spilled).
  std::optional<held_bytes> view(uint64_t id);

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

  /// Drops every object (the store closes: nobody serves them any more).
  void clear();

  /// Drops complete cached copies nobody is reading, oldest first, until
  /// `need` bytes are freed or none is left; returns the bytes freed.
  size_t evict(size_t need);

  /// Writes results held here to the spill store and drops them from
  /// memory, oldest first (those with a valid spill file cost no I/O),
  /// until `need` bytes are freed; skips results being sent. Returns the
  /// bytes freed. Called by memory_budget::make_room.
  size_t spill(size_t need);

  /// Bytes of cached copies (also counted in object_table::bytes_used).
  size_t cached_bytes() const;

  /// One held object, for memory_summary and the store's "full" error.
  struct info {
    uint64_t id = 0;
    uint64_t size = 0;
    bool cached = false;   ///< a copy of another node's object
    bool spilled = false;  ///< on disk only
    bool complete = true;  ///< false while a copy is being read
    bool in_use = false;   ///< being sent or read right now
  };
  std::vector<info> list() const;

private:
  struct spill_file {
    std::string path; ///< empty: none
    size_t bytes = 0;
    uint64_t generation = 0;
  };

  struct entry {
    std::shared_ptr<const std::vector<char>> bytes; ///< null while spilled
    std::shared_ptr<copy_progress> progress;        ///< null once complete
    bool cached = false;
    uint64_t seq = 0;
    uint64_t size = 0;
    std::function<void()> on_drop;
    spill_file file; ///< results only
  };

  /// Takes `e` out of the books as it leaves the map (lock held): its
  /// spill file goes, a copy being read fails.
  void forget(entry& e);

  /// The resident bytes of complete `id`, reading a spilled result back.
  std::shared_ptr<const std::vector<char>> restore(uint64_t id);

  object_store& store_;
  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, entry> map_;
  size_t cached_ = 0;
  uint64_t next_seq_ = 0;
};

/// What this process serves for object `id`: a held object (kept for an
/// owner elsewhere), else a sealed value of its own object table, encoded
/// (without a copy for contiguous plain data). Empty if it has neither, or
/// no runtime runs.
std::optional<held_bytes> local_object_bytes(uint64_t id);

} // namespace manta::detail
