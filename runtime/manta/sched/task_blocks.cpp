#include "manta/sched/task_blocks.hpp"

#include <cstdint>

namespace manta::detail::task_blocks {

namespace {

/// Size classes of 64 bytes: a task's spec is 400 bytes and more.
constexpr size_t granule = 64;

constexpr size_t classes = max_bytes / granule;

/// Frees `p`, a block of `n` bytes from `operator new(n)`. Sized where the
/// compiler declares sized deallocation (GCC; Clang only with
/// -fsized-deallocation): the unsized `operator delete` asks malloc for
/// the block's size for the large-block cache (allocation_hook.cpp), about
/// 45 instructions more per block, and a long list of tasks overflows this
/// cache (spawn + get).
void release_block(void* p, size_t n) noexcept {
#if defined(__cpp_sized_deallocation)
  ::operator delete(p, n);
#else
  (void)n;
  ::operator delete(p);
#endif
}

struct free_block {
  free_block* next;
};

/// How many bytes a thread keeps at most, past its `kept` blocks a class.
/// A thread that submits a list of tasks allocates every spec and result
/// slot of the list before the first is freed: with only `kept` blocks a
/// class, spawn + get of 10,000 tasks paid malloc's and free's slow paths
/// (the blocks overflow glibc's thread cache of 7 a size too) for nearly
/// every block, about 750 instructions a task on the submitting thread
/// (docs/performance.md, "Instructions per task"). 10,000 tasks of a no-op
/// function take 7.7 MB of blocks (a 448-byte spec and a 320-byte slot).
constexpr size_t kept_bytes = size_t{16} << 20;

/// One thread's kept blocks. Constant-initialised and trivially destroyed:
/// a block freed after the thread's `drain` ran (by another thread-local's
/// destructor, or during static destruction on the main thread) finds it
/// valid, sees `closed` and goes to `operator delete`.
///
/// Past `kept` blocks, a class keeps one more block for every `take` it
/// could not serve (`extra`), up to `kept_bytes` over all classes: a
/// thread keeps what it showed it takes at once, never more. A thread that
/// only frees blocks (a pool thread finishing tasks submitted elsewhere)
/// keeps `kept` a class, so no thread holds memory it does not reuse
/// beyond those.
struct cache {
  free_block* head[classes];
  uint32_t count[classes];
  /// Blocks the class keeps past `kept`: the takes it missed so far.
  uint32_t extra[classes];
  size_t extra_bytes; ///< The bytes `extra` allows, over all classes.
  bool registered;    ///< `drain` will run at the thread's exit.
  bool closed;        ///< `drain` ran: keep nothing more.
};

constinit thread_local cache mine{};

/// Frees the thread's kept blocks when it exits.
struct drain {
  drain() noexcept { mine.registered = true; }
  ~drain() {
    mine.closed = true;
    mine.registered = false; // every `give` now takes the slow path, which sees `closed`
    for (size_t c = 0; c < classes; ++c) {
      while (auto* b = mine.head[c]) {
        mine.head[c] = b->next;
        release_block(b, (c + 1) * granule);
      }
      mine.count[c] = 0;
    }
  }
  drain(const drain&) = delete;
  drain& operator=(const drain&) = delete;
};

size_t class_of(size_t n) noexcept {
  return (n - 1) / granule;
}

/// `take` found no block of class `c`: lets the class keep one more when
/// it comes back, within `kept_bytes`.
[[gnu::noinline]] void* take_missed(size_t c) {
  auto size = (c + 1) * granule;
  if (mine.extra_bytes + size <= kept_bytes) {
    ++mine.extra[c];
    mine.extra_bytes += size;
  }
  // A class's full size, so that any block of the class serves any request.
  return ::operator new(size);
}

void keep(void* p, size_t c) noexcept {
  auto* b = static_cast<free_block*>(p);
  b->next = mine.head[c];
  mine.head[c] = b;
  ++mine.count[c];
}

/// `give` of a block the class is full for, or the thread's first (or one
/// after its `drain`).
[[gnu::noinline]] void give_slow(void* p, size_t c) noexcept {
  if (mine.closed || mine.count[c] >= kept + mine.extra[c]) {
    release_block(p, (c + 1) * granule); // the size `take` asked for
    return;
  }
  if (!mine.registered) {
    // Once per thread: its blocks are freed at its exit.
    thread_local drain at_exit;
  }
  keep(p, c);
}

} // namespace

void* take(size_t n) {
  auto c = class_of(n);
  if (n == 0 || c >= classes) [[unlikely]]
    return ::operator new(n);
  if (auto* b = mine.head[c]) {
    mine.head[c] = b->next;
    --mine.count[c];
    return b;
  }
  return take_missed(c);
}

void give(void* p, size_t n) noexcept {
  auto c = class_of(n);
  if (n == 0 || c >= classes) [[unlikely]] {
    release_block(p, n);
    return;
  }
  if (!mine.registered || mine.count[c] >= kept + mine.extra[c]) [[unlikely]] {
    give_slow(p, c);
    return;
  }
  keep(p, c);
}

} // namespace manta::detail::task_blocks
