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

/// One thread's kept blocks. Constant-initialised and trivially destroyed:
/// a block freed after the thread's `drain` ran (by another thread-local's
/// destructor, or during static destruction on the main thread) finds it
/// valid, sees `closed` and goes to `operator delete`.
struct cache {
  free_block* head[classes];
  uint8_t count[classes];
  bool registered; ///< `drain` will run at the thread's exit.
  bool closed;     ///< `drain` ran: keep nothing more.
};

constinit thread_local cache mine{};

/// Frees the thread's kept blocks when it exits.
struct drain {
  drain() noexcept { mine.registered = true; }
  ~drain() {
    mine.closed = true;
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

} // namespace

void* take(size_t n) {
  auto c = class_of(n);
  if (n == 0 || c >= classes)
    return ::operator new(n);
  if (auto* b = mine.head[c]) {
    mine.head[c] = b->next;
    --mine.count[c];
    return b;
  }
  // A class's full size, so that any block of the class serves any request.
  return ::operator new((c + 1) * granule);
}

void give(void* p, size_t n) noexcept {
  auto c = class_of(n);
  if (n == 0 || c >= classes) {
    release_block(p, n);
    return;
  }
  if (mine.closed || mine.count[c] >= kept) {
    release_block(p, (c + 1) * granule); // the size `take` asked for
    return;
  }
  if (!mine.registered) {
    // Once per thread: its blocks are freed at its exit.
    thread_local drain at_exit;
  }
  auto* b = static_cast<free_block*>(p);
  b->next = mine.head[c];
  mine.head[c] = b;
  ++mine.count[c];
}

} // namespace manta::detail::task_blocks
