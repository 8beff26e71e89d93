#include "manta/store/block_cache.hpp"

#include "manta/core/spin_lock.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <malloc.h>

namespace manta::detail::block_cache {

namespace {

struct block {
  void* p = nullptr;
  size_t bytes = 0;   // malloc_usable_size
  int64_t kept_at = 0; // steady_clock, nanoseconds
};

int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// A few blocks suffice (each is 32 MiB or more, and their sum is bounded
/// by the capacity); a fixed array needs no allocation inside `delete`.
constexpr size_t max_blocks = 32;

struct state {
  spin_lock mtx;
  std::array<block, max_blocks> blocks{};
  std::atomic<size_t> capacity{0};
  std::atomic<size_t> kept{0};
  std::atomic<uint64_t> reuses{0};
};

constinit state cache;

} // namespace

void* take(size_t n) noexcept {
  if (n < min_bytes || cache.kept.load(std::memory_order_relaxed) == 0)
    return nullptr;
  std::lock_guard<spin_lock> guard{cache.mtx};
  block* best = nullptr;
  for (auto& b : cache.blocks)
    if (b.p != nullptr && b.bytes >= n && b.bytes - n <= n / 8
        && (best == nullptr || b.bytes < best->bytes))
      best = &b;
  if (best == nullptr)
    return nullptr;
  auto* p = best->p;
  cache.kept.fetch_sub(best->bytes, std::memory_order_relaxed);
  *best = block{};
  cache.reuses.fetch_add(1, std::memory_order_relaxed);
  return p;
}

bool keep(void* p) noexcept {
  if (p == nullptr || cache.capacity.load(std::memory_order_relaxed) == 0)
    return false;
  auto bytes = ::malloc_usable_size(p);
  if (bytes < min_bytes)
    return false;
  std::lock_guard<spin_lock> guard{cache.mtx};
  auto capacity = cache.capacity.load(std::memory_order_relaxed);
  auto kept = cache.kept.load(std::memory_order_relaxed);
  if (bytes > capacity || kept > capacity - bytes)
    return false;
  for (auto& b : cache.blocks) {
    if (b.p == nullptr) {
      b = block{p, bytes, now_ns()};
      cache.kept.fetch_add(bytes, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

size_t trim(size_t bytes) noexcept {
  std::array<void*, max_blocks> freed{};
  size_t n = 0;
  size_t total = 0;
  {
    std::lock_guard<spin_lock> guard{cache.mtx};
    while (cache.kept.load(std::memory_order_relaxed) > bytes) {
      block* largest = nullptr;
      for (auto& b : cache.blocks)
        if (b.p != nullptr && (largest == nullptr || b.bytes > largest->bytes))
          largest = &b;
      if (largest == nullptr)
        break;
      freed[n++] = largest->p;
      total += largest->bytes;
      cache.kept.fetch_sub(largest->bytes, std::memory_order_relaxed);
      *largest = block{};
    }
  }
  // Unmapping hundreds of MiB takes a while: not under the lock.
  for (size_t i = 0; i < n; ++i)
    std::free(freed[i]);
  return total;
}

size_t release_idle(std::chrono::nanoseconds age) noexcept {
  if (cache.kept.load(std::memory_order_relaxed) == 0)
    return 0;
  std::array<void*, max_blocks> freed{};
  size_t n = 0;
  size_t total = 0;
  auto oldest = now_ns() - age.count();
  {
    std::lock_guard<spin_lock> guard{cache.mtx};
    for (auto& b : cache.blocks) {
      if (b.p != nullptr && b.kept_at <= oldest) {
        freed[n++] = b.p;
        total += b.bytes;
        cache.kept.fetch_sub(b.bytes, std::memory_order_relaxed);
        b = block{};
      }
    }
  }
  for (size_t i = 0; i < n; ++i)
    std::free(freed[i]);
  return total;
}

void set_capacity(size_t bytes) noexcept {
  {
    std::lock_guard<spin_lock> guard{cache.mtx};
    cache.capacity.store(bytes, std::memory_order_relaxed);
  }
  trim(bytes);
}

size_t kept_bytes() noexcept {
  return cache.kept.load(std::memory_order_relaxed);
}

uint64_t reuses() noexcept {
  return cache.reuses.load(std::memory_order_relaxed);
}

bool enabled() noexcept {
  return cache.capacity.load(std::memory_order_relaxed) != 0;
}

} // namespace manta::detail::block_cache
