#include "manta/store/buffer_pool.hpp"

#include "manta/store/block_cache.hpp"
#include "manta/store/object_store.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

namespace manta::detail {

buffer_pool::~buffer_pool() {
  // Closing its store emptied it; frees what a late `give` raced in.
  for (auto& [bytes, e] : kept_)
    e.destroy(e.object);
}

void* buffer_pool::take(const std::type_info& type, size_t bytes) noexcept {
  if (kept_bytes_.load(std::memory_order_relaxed) == 0)
    return nullptr;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = kept_.lower_bound(bytes); i != kept_.end() && i->first - bytes <= bytes / 8; ++i) {
    if (*i->second.type != type)
      continue;
    auto* object = i->second.object;
    kept_bytes_.fetch_sub(i->first, std::memory_order_relaxed);
    kept_.erase(i);
    reuses_.fetch_add(1, std::memory_order_relaxed);
    return object;
  }
  return nullptr;
}

// A kept buffer stays in the pages it was mapped in (4 KiB for the store's
// copies, store_copy.hpp). Collapsing it into huge pages as it enters the
// pool (MADV_COLLAPSE) was measured and not kept: 2-13 s per GiB on this
// project's virtual machines, whose fresh huge pages are cold host memory,
// and the puts that reused it copied no faster (docs/performance.md,
// session of 2026-12-05 09:37).
void buffer_pool::give(entry e) noexcept {
  auto limit = store_.budget().limit();
  auto used = store_.table().bytes_used();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto kept = kept_bytes_.load(std::memory_order_relaxed) + block_cache::kept_bytes();
    if (enabled_ && used <= limit && e.bytes <= limit - used - std::min(kept, limit - used)) {
      try {
        kept_.emplace(e.bytes, e);
        kept_bytes_.fetch_add(e.bytes, std::memory_order_relaxed);
        return;
      } catch (...) {
        // No memory for the map's node: free the buffer instead.
      }
    }
  }
  e.destroy(e.object);
}

size_t buffer_pool::trim(size_t keep) noexcept {
  std::vector<entry> freed;
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    while (!kept_.empty() && kept_bytes_.load(std::memory_order_relaxed) > keep) {
      auto last = std::prev(kept_.end());
      try {
        freed.push_back(last->second);
      } catch (...) {
        last->second.destroy(last->second.object); // under the lock, but freed
      }
      kept_bytes_.fetch_sub(last->first, std::memory_order_relaxed);
      bytes += last->first;
      kept_.erase(last);
    }
  }
  // Unmapping hundreds of MiB takes a while: not under the lock.
  for (auto& e : freed)
    e.destroy(e.object);
  // The block cache takes what the typed buffers leave of `keep`.
  return bytes + block_cache::trim(keep - std::min(keep, kept_bytes()));
}

void buffer_pool::enable(bool on) noexcept {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    enabled_ = on;
  }
  // The block cache keeps at most a quarter of the budget: enough for the
  // few large vectors in flight at once.
  block_cache::set_capacity(on ? store_.budget().limit() / 4 : 0);
  if (!on)
    trim(0);
}

} // namespace manta::detail
