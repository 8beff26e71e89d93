#pragma once

#include "manta/store/object_table.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>

namespace manta::detail {

class object_store;

/// The node's limit on bytes of object values held in memory
/// (`init_options::object_store_memory`) and the policy that keeps to it:
/// before a value is sealed, `admit` checks that it fits; if not, it spills
/// unpinned spillable objects (oldest first; ones with a valid spill file
/// first, since dropping those costs no I/O) until it does, and otherwise
/// throws `object_store_full_error`. The check on the fast path is one
/// relaxed load and a compare; concurrent puts may overshoot the budget by
/// at most their own sizes.
class memory_budget {
public:
  /// The budget of `store`, whose table counts the bytes used: `limit_bytes`.
  memory_budget(object_store& store, object_table& table, size_t limit_bytes) noexcept
    : store_(store), table_(table), limit_(limit_bytes) {}

  memory_budget(const memory_budget&) = delete;
  memory_budget& operator=(const memory_budget&) = delete;

  /// Sets the budget in bytes.
  void configure(size_t limit_bytes) noexcept {
    limit_.store(limit_bytes, std::memory_order_relaxed);
  }

  size_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }

  /// Makes room for a value of `size` bytes about to be sealed. Throws
  /// `object_store_full_error` (naming `what`, e.g. "manta::put") if it
  /// cannot.
  void admit(size_t size, const char* what) {
    auto used = table_.bytes_used();
    if (size > 0 && used + size > limit())
      admit_slow(size, what);
  }

  /// Spills objects until `need` more bytes fit; returns whether they do.
  bool make_room(size_t need);

  /// The text of `object_store_full_error` for a value of `need` bytes.
  std::string full_message(size_t need, const char* what);

  /// Default budget: 30% of physical memory.
  static size_t default_limit() noexcept;

private:
  void admit_slow(size_t size, const char* what);

  object_store& store_;
  object_table& table_;
  std::atomic<size_t> limit_;
  std::mutex spill_mtx_; // one spiller at a time
};

/// Renders a byte count as "12.3 MiB".
std::string format_bytes(size_t bytes);

} // namespace manta::detail
