#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

/// Large blocks that `operator delete` freed, kept with their pages mapped
/// for the next `operator new` of about the same size.
///
/// glibc serves every block of 32 MiB or more with its own mmap and gives
/// it back to the kernel at free, so each new large vector pays a page
/// fault and the kernel's zeroing per 4 KiB page before the program writes
/// it: 80 MiB took 20,480 faults, and making such vectors ran at 0.5 GB/s
/// on this project's virtual machines where writing mapped memory runs at
/// several GB/s. A program that puts many large vectors it makes itself
/// (Ray's `multi_client_put_gigabytes`) paid that for every one; Ray's
/// store copies into its preallocated arena instead. The store's own copies
/// reuse their memory through `buffer_pool` (typed, matched by element
/// type); this cache does the same one level down for any block, so a
/// vector the program builds, moves into the store and drops hands its
/// memory to the next one.
///
/// A block is kept only while the cache is enabled (by `buffer_pool`, at
/// `init`: a quarter of the memory budget) and its bytes fit what is left
/// of that capacity; it serves a request of `n` bytes when it holds `n` and
/// at most an eighth more. `buffer_pool::trim` and `fit` trim it with the
/// pool (a put gives way to live values; spilling, the memory monitor and
/// `shutdown` empty it), and a block nobody took for `idle_age` is freed. Its state is
/// constant-initialised and trivially destroyed, so a `delete` during static destruction finds it
/// valid.
namespace manta::detail::block_cache {

/// Blocks smaller than this are left to malloc's own free lists (glibc's
/// largest mmap threshold: below it, freed memory stays in its heap).
inline constexpr size_t min_bytes = size_t{32} << 20;

/// A kept block of at least `n` bytes (and at most `n + n / 8`), removed
/// from the cache, or nullptr. `n` below `min_bytes` always gets nullptr.
void* take(size_t n) noexcept;

/// Keeps `p` (a block from malloc of `min_bytes` or more) when there is
/// room; returns false when the caller is to free it.
bool keep(void* p) noexcept;

/// Frees kept blocks, largest first, until at most `bytes` are kept;
/// returns the bytes freed.
size_t trim(size_t bytes) noexcept;

/// Frees the blocks kept for `age` or longer; returns the bytes freed.
/// The memory monitor calls it at each reading with `idle_age`, so memory
/// a program freed goes back to the kernel once nothing reuses it (a
/// worker's RSS falls after a dead driver's results are dropped). One
/// relaxed load when nothing is kept.
size_t release_idle(std::chrono::nanoseconds age) noexcept;

/// How long a kept block waits for a request of its size before
/// `release_idle` frees it: far longer than the gap between the puts of a
/// program that makes vector after vector, short beside a person's wait.
inline constexpr std::chrono::milliseconds idle_age{1000};

/// The bytes the cache may keep; 0 disables it and empties it.
void set_capacity(size_t bytes) noexcept;

/// Bytes kept now.
size_t kept_bytes() noexcept;

/// Requests served by a kept block since the process started.
uint64_t reuses() noexcept;

/// Whether the cache is enabled: one relaxed load, for `operator delete`'s
/// fast path.
bool enabled() noexcept;

} // namespace manta::detail::block_cache
