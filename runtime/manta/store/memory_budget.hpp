#pragma once

#include "manta/store/object_table.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>

namespace manta::detail {

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
  static memory_budget& instance();

  /// Sets the budget in bytes (at `init`).
  void configure(size_t limit_bytes) noexcept {
    limit_.store(limit_bytes, std::memory_order_relaxed);
  }

  size_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }

  /// Makes room for a value of `size` bytes about to be sealed. Throws
  /// `object_store_full_error` (naming `what`, e.g. "manta::put") if it
  /// cannot.
  void admit(size_t size, const char* what) {
    auto used = object_table::instance().bytes_used();
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

  std::atomic<size_t> limit_{default_limit()};
  std::mutex spill_mtx_; // one spiller at a time
};

/// Renders a byte count as "12.3 MiB".
std::string format_bytes(size_t bytes);

} // namespace manta::detail
