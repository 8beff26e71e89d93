#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

/// Stopping a task that allocates, for the memory monitor.
///
/// A node is one process and its tasks are threads of the worker pool, so
/// a task cannot be killed alone as Ray kills a worker process: a thread
/// cannot be stopped from outside without leaving locks held and memory
/// lost. What a thread that keeps allocating always does is call
/// `operator new`; Manta's library replaces the global `operator new`
/// (every form, with the matching `operator delete`s, on malloc and free)
/// and, on a thread whose current run the monitor asked to stop, throws
/// `std::bad_alloc` from it. The task then unwinds like any C++ code that
/// ran out of memory, its destructors free what it allocated, and the
/// runtime reports it as `out_of_memory_error`.
///
/// The check is one relaxed load of a thread-local word, a compare and a
/// branch (figures in docs/reliability.md, "Memory monitor"). Memory taken
/// with malloc or mmap directly, or by another thread, is not seen; a task
/// that is stopped while it allocates nothing (blocked) stops at its next
/// allocation.
namespace manta::detail::allocation_hook {

/// Marks the calling thread as running run `run` (a nonzero id, unique in
/// the process), whose stop is not requested; 0: it runs none.
void set_current_run(uint64_t run) noexcept;

/// The calling thread's stop word: the id of the run to stop, 0 for none.
/// The memory monitor stores a run id in another thread's word; the hook
/// throws while it equals that thread's current run.
std::atomic<uint64_t>& stop_word() noexcept;

/// Whether the stop of the calling thread's current run was requested.
bool stop_requested() noexcept;

/// Counts this process's `operator new` calls of `bytes` bytes or more
/// from now on, on every thread (SIZE_MAX: none, the start). How a test
/// sees the copies a path makes of a value of known size: each copy into
/// a fresh buffer is one such call. Costs nothing more per allocation: it
/// lowers the bound of the branch large blocks take anyway (block_cache).
void count_allocations_from(size_t bytes) noexcept;

/// The calls counted since the first `count_allocations_from`.
uint64_t counted_allocations() noexcept;

/// While one lives, the hook does not throw on this thread: for runtime
/// code that a task calls and that must not fail half-way (noexcept code
/// that allocates, such as lending the CPUs of a task that blocks in get).
class hold_off {
public:
  hold_off() noexcept;
  ~hold_off();
  hold_off(const hold_off&) = delete;
  hold_off& operator=(const hold_off&) = delete;
};

} // namespace manta::detail::allocation_hook
