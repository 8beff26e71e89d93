#include "manta/store/store_copy.hpp"

#include "manta/store/object_store.hpp"

#include <atomic>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

namespace manta::detail {

namespace {

std::atomic<uint64_t> fresh_count{0};

/// madvise on the whole pages inside [data, data + bytes).
void advise_pages(void* data, size_t bytes, int advice) noexcept {
  auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto first = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  auto last = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
  if (last > first)
    ::madvise(reinterpret_cast<void*>(first), last - first, advice);
}

} // namespace

buffer_pool& pool_of(object_store& store) noexcept {
  return store.pool();
}

void retain_store(object_store& store) noexcept {
  store.retain();
}

void release_store(object_store& store) noexcept {
  store.release();
}

void copy_in_lanes(object_store& store, void* dst, const void* src, size_t bytes) noexcept {
  store.lanes().copy(dst, src, bytes);
}

void advise_huge_pages(void* data, size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  advise_pages(data, bytes, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

void populate_pages(void* data, size_t bytes) noexcept {
  // Linux 5.14; older kernels answer EINVAL, which changes nothing.
  constexpr int populate_write = 23; // MADV_POPULATE_WRITE
  advise_pages(data, bytes, populate_write);
}

void prepare_fresh_copy(void* data, size_t bytes) noexcept {
  populate_pages(data, bytes);
  fresh_count.fetch_add(1, std::memory_order_relaxed);
}

uint64_t fresh_copies() noexcept {
  return fresh_count.load(std::memory_order_relaxed);
}

} // namespace manta::detail
