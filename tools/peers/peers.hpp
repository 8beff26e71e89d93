#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

/// The C++ task libraries `peers_benchmark` runs beside Manta: each one's
/// way of doing the same three shapes of local work, so that a figure of
/// Manta's can be read against what a C++ user would otherwise use.
namespace manta::tools::peers {

/// One library's version of the task shapes. Every function checks the
/// results it gets and aborts on a wrong one, so a shape that skipped its
/// work could not pass for a fast one.
struct task_library {
  std::string name;
  /// Submits `n` no-op tasks, then waits for all and reads their results.
  std::function<void(int n)> spawn_get;
  /// Submits one no-op task and waits for its result, `n` times.
  std::function<void(int n)> one_at_a_time;
  /// Recursive fork-join of `depth` levels below the root: each task
  /// submits two children and waits for both (2^(depth+1) - 1 tasks).
  /// Returns the number of tasks that ran. Empty if the library cannot
  /// run it on this machine.
  std::function<long(int depth)> fork_join;
};

/// Manta's local tasks: `task(f).remote()` and `get` (tools/peers/manta_side.cpp).
task_library manta_tasks();

/// `std::async(std::launch::async, ...)` and `future::get`: a thread per task.
task_library std_async_tasks();

#ifdef MANTA_PEER_TBB
/// oneTBB's `task_group`: `run`, then `wait`.
task_library tbb_tasks();
/// oneTBB's `task_group` with each task's result in a `std::promise` of its
/// own, read through its `std::future`: what a result per task, which every
/// Manta task has (its `object_ref`), costs on TBB. Beside the target's
/// peer (plain TBB), not instead of it.
task_library tbb_future_tasks();
#endif

#ifdef MANTA_PEER_OPENMP
/// OpenMP tasks (`#pragma omp task`, `taskwait`) inside one parallel region.
task_library openmp_tasks();
#endif

#ifdef MANTA_PEER_FIBER
/// Boost.Fiber's `fibers::async` and `future::get`, on the calling thread's
/// fiber scheduler (round robin, one thread).
task_library fiber_tasks();
#endif

/// A function making `n` synchronous calls (call, then get) to one Manta
/// actor, created now; the runtime must be running.
std::function<void(int n)> manta_actor_sync();

/// `manta::put` of a copy of `bytes` (an lvalue, as a user's buffer), the
/// object released at once.
void manta_put(const std::vector<unsigned char>& bytes);

/// Copies `bytes` into a buffer of its size mapped at the first call (4 KiB
/// pages), as a put of a large vector copies into the buffer the store's
/// pool kept from the previous put of that size
/// (manta/store/store_copy.hpp): the floor of a copying put, in the same
/// kind of memory (tools/peers/floors.cpp).
void memcpy_mapped(const std::vector<unsigned char>& bytes);

/// Seconds raw CAF takes for `n` sequential request/response round trips
/// between two local actors, with the runtime's CAF settings
/// (tools/caf_floor.hpp): the floor of a synchronous actor call.
double caf_request_response_seconds(int n);

} // namespace manta::tools::peers
