#include "manta/store/allocation_hook.hpp"

#include "manta/store/block_cache.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

// The thread-local words below are read on every allocation: initial-exec
// makes each a single load at a fixed offset from the thread pointer (the
// library is static, linked into executables).
#define MANTA_TLS thread_local __attribute__((tls_model("initial-exec")))

namespace manta::detail::allocation_hook {

namespace {

/// The run to stop on this thread (0: none). Written by the memory monitor.
MANTA_TLS std::atomic<uint64_t> stop_run{0};
/// The run this thread executes now (0: none). Written by this thread only.
MANTA_TLS uint64_t current_run = 0;
/// Live `hold_off`s on this thread.
MANTA_TLS int held_off = 0;

} // namespace

void set_current_run(uint64_t run) noexcept {
  current_run = run;
  stop_run.store(0, std::memory_order_relaxed);
}

std::atomic<uint64_t>& stop_word() noexcept {
  return stop_run;
}

namespace {

/// Counted allocations are this large or larger.
std::atomic<size_t> count_from{SIZE_MAX};
/// The smaller of that and block_cache::min_bytes: the bound of the branch
/// that sees large blocks.
std::atomic<size_t> large_from{block_cache::min_bytes};
std::atomic<uint64_t> counted{0};

} // namespace

void count_allocations_from(size_t bytes) noexcept {
  count_from.store(bytes, std::memory_order_relaxed);
  large_from.store(std::min(bytes, block_cache::min_bytes), std::memory_order_relaxed);
}

uint64_t counted_allocations() noexcept {
  return counted.load(std::memory_order_relaxed);
}

bool stop_requested() noexcept {
  auto s = stop_run.load(std::memory_order_relaxed);
  return s != 0 && s == current_run;
}

hold_off::hold_off() noexcept {
  ++held_off;
}

hold_off::~hold_off() {
  --held_off;
}

namespace {

/// Taken only when a stop word is set: throws if it names the current run
/// (a word left from a run that ended is ignored until the next run
/// starts and clears it).
[[gnu::noinline, gnu::cold]] void check_stop() {
  if (held_off == 0 && stop_requested())
    throw std::bad_alloc();
}

inline void check_fast() {
  if (stop_run.load(std::memory_order_relaxed) != 0) [[unlikely]]
    check_stop();
}

/// What the standard's operator new does: malloc, calling the new handler
/// while it fails.
void* allocate(std::size_t n) {
  if (n == 0)
    n = 1;
  if (n >= large_from.load(std::memory_order_relaxed)) [[unlikely]] {
    if (n >= count_from.load(std::memory_order_relaxed))
      counted.fetch_add(1, std::memory_order_relaxed);
    if (n >= block_cache::min_bytes)
      if (void* p = block_cache::take(n))
        return p;
  }
  for (;;) {
    if (void* p = std::malloc(n))
      return p;
    auto handler = std::get_new_handler();
    if (handler == nullptr)
      throw std::bad_alloc();
    handler();
  }
}

void* allocate_aligned(std::size_t n, std::align_val_t al) {
  auto align = static_cast<std::size_t>(al);
  if (align < sizeof(void*))
    align = sizeof(void*);
  if (n == 0)
    n = 1;
  for (;;) {
    void* p = nullptr;
    if (::posix_memalign(&p, align, n) == 0)
      return p;
    auto handler = std::get_new_handler();
    if (handler == nullptr)
      throw std::bad_alloc();
    handler();
  }
}

/// Frees a block from `allocate`: a large one may stay mapped in the
/// block cache for the next large `operator new` (block_cache.hpp).
inline void release(void* p) noexcept {
  if (!block_cache::enabled() || !block_cache::keep(p))
    std::free(p);
}

/// The same when the size is known (sized delete): small blocks skip the
/// cache without asking malloc for their size.
inline void release(void* p, std::size_t n) noexcept {
  if (n < block_cache::min_bytes || !block_cache::enabled() || !block_cache::keep(p))
    std::free(p);
}

} // namespace

} // namespace manta::detail::allocation_hook

// -- the replaced global allocation functions ------------------------------------

namespace hook = manta::detail::allocation_hook;

void* operator new(std::size_t n) {
  hook::check_fast();
  return hook::allocate(n);
}

void* operator new[](std::size_t n) {
  hook::check_fast();
  return hook::allocate(n);
}

void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    hook::check_fast();
    return hook::allocate(n);
  } catch (...) {
    return nullptr;
  }
}

void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    hook::check_fast();
    return hook::allocate(n);
  } catch (...) {
    return nullptr;
  }
}

void* operator new(std::size_t n, std::align_val_t al) {
  hook::check_fast();
  return hook::allocate_aligned(n, al);
}

void* operator new[](std::size_t n, std::align_val_t al) {
  hook::check_fast();
  return hook::allocate_aligned(n, al);
}

void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    hook::check_fast();
    return hook::allocate_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}

void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    hook::check_fast();
    return hook::allocate_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}

// Every form of delete frees what the forms above took with malloc or
// posix_memalign (replaced together, so that a sanitizer's or the C++
// library's own pair never sees half of it); the unaligned forms may keep a
// large block in the block cache instead.

void operator delete(void* p) noexcept {
  hook::release(p);
}

void operator delete[](void* p) noexcept {
  hook::release(p);
}

void operator delete(void* p, std::size_t n) noexcept {
  hook::release(p, n);
}

void operator delete[](void* p, std::size_t n) noexcept {
  hook::release(p, n);
}

void operator delete(void* p, const std::nothrow_t&) noexcept {
  hook::release(p);
}

void operator delete[](void* p, const std::nothrow_t&) noexcept {
  hook::release(p);
}

void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}

void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}

void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}

void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
