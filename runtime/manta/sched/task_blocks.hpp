#pragma once

#include <cstddef>
#include <memory>
#include <new>

/// The memory of submitted tasks' specs, reused per thread.
///
/// Every `remote()` makes one `typed_task` (a few hundred bytes, with its
/// `make_shared` control block) and frees it once the task ran and its
/// last weak pointer went: one `malloc` and one `free`, about 130
/// instructions through glibc's thread cache, 4% of a no-op task one at a
/// time (docs/performance.md, "Instructions per task"). The thread that
/// frees a block keeps a few per size class, and its next submit of about
/// the same size takes one back with a pointer pop. Blocks cross threads
/// freely (a block freed on a pool thread is kept by that thread); a thread
/// keeps `kept` blocks a class, more if it took more (task_blocks.cpp: up to
/// 16 MiB, for a list of tasks), all freed when it exits.
namespace manta::detail::task_blocks {

/// Blocks up to this size are kept; larger ones go to `operator new`.
inline constexpr size_t max_bytes = 1024;

/// How many blocks of one size class any thread keeps (more: see above).
inline constexpr size_t kept = 8;

/// A block of at least `n` bytes, aligned as `operator new`'s.
void* take(size_t n);

/// Gives back a block `take(n)` returned.
void give(void* p, size_t n) noexcept;

/// For `std::allocate_shared` of a task's spec: the block of the spec and
/// its control block comes from, and goes back to, the thread's cache.
template <class T>
struct allocator {
  using value_type = T; ///< What it allocates.

  /// Stateless: the cache is the calling thread's.
  allocator() noexcept = default;

  /// Rebinding (to the control block's type), as allocators do.
  template <class U>
  allocator(const allocator<U>&) noexcept { // NOLINT(google-explicit-constructor)
    // nop
  }

  /// `n` objects' memory.
  T* allocate(size_t n) {
    if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
      return std::allocator<T>{}.allocate(n);
    else
      return static_cast<T*>(take(n * sizeof(T)));
  }

  /// Gives back what `allocate(n)` returned.
  void deallocate(T* p, size_t n) noexcept {
    if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
      std::allocator<T>{}.deallocate(p, n);
    else
      give(p, n * sizeof(T));
  }

  /// All of them share the threads' caches.
  template <class U>
  bool operator==(const allocator<U>&) const noexcept {
    return true;
  }
};

} // namespace manta::detail::task_blocks
