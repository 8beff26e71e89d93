#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <typeinfo>

namespace manta::detail {

class object_store;

/// The store's copies of large vectors, kept with their pages mapped after
/// their object is freed, so that the next `put` of a vector of the same
/// type and about the same size copies into memory the kernel has already
/// handed out instead of faulting in fresh pages (Ray's store reuses its
/// preallocated, pre-faulted arena the same way). Page faults and the
/// zeroing of fresh pages were most of the cost of a large put on this
/// project's virtual machines, and varied 3x from run to run.
///
/// Bounded by the node's memory budget: a buffer is kept only while the
/// bytes of live values plus the bytes kept stay within
/// `memory_budget::limit()`; every `put` trims the pool back under what the
/// budget leaves free (`fit`), spilling (`memory_budget::make_room`) and the
/// memory monitor empty it first, and `shutdown` empties it. Kept bytes are
/// not object values: they never count in `object_table::bytes_used`, so
/// the pool never makes a `put` spill or fail. Part of an `object_store`:
/// enabled when it is made, emptied when it closes.
class buffer_pool {
public:
  /// One kept buffer: an object of type `type` (a `std::vector<E>`) that
  /// owns `bytes` bytes of capacity, destroyed by `destroy`.
  struct entry {
    void* object = nullptr;
    void (*destroy)(void*) noexcept = nullptr;
    const std::type_info* type = nullptr;
    size_t bytes = 0;
  };

  /// The pool of `store`, bounded by its budget.
  explicit buffer_pool(object_store& store) noexcept : store_(store) {}
  ~buffer_pool();

  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;

  /// Removes and returns a kept object of `type` whose capacity holds
  /// `bytes` and at most an eighth more (the budget counts capacity), or
  /// nullptr when none is kept.
  void* take(const std::type_info& type, size_t bytes) noexcept;

  /// Keeps `e` when the budget has room for it (see above) and the pool is
  /// enabled; destroys it otherwise.
  void give(entry e) noexcept;

  /// Frees kept buffers, largest first, until at most `keep` bytes are
  /// kept; returns the bytes freed.
  size_t trim(size_t keep) noexcept;

  /// Trims the pool to `headroom` bytes (what the budget leaves free) when
  /// it holds more: one relaxed load when it does not.
  void fit(size_t headroom) noexcept {
    if (kept_bytes_.load(std::memory_order_relaxed) > headroom)
      trim(headroom);
  }

  /// Enabled when its store is made; disabled (and emptied) when it closes.
  void enable(bool on) noexcept;

  /// Bytes kept now.
  size_t kept_bytes() const noexcept { return kept_bytes_.load(std::memory_order_relaxed); }

  /// Puts served by a kept buffer since the process started.
  uint64_t reuses() const noexcept { return reuses_.load(std::memory_order_relaxed); }

private:
  object_store& store_;
  std::mutex mtx_;
  std::multimap<size_t, entry> kept_; // by capacity in bytes
  std::atomic<size_t> kept_bytes_{0};
  std::atomic<uint64_t> reuses_{0};
  bool enabled_ = false;
};

} // namespace manta::detail
