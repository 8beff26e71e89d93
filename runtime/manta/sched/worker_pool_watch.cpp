// The watcher of tasks left to their submitters (worker_pool.hpp,
// `state::watch_wanted`): a thread outside the pool that submits a granted
// task usually `get`s it at once and runs it itself (worker_pool_caller.cpp),
// so such a task wakes no pool thread. One idle pool thread instead sleeps
// in short timed waits and runs a left task its submitter did not take
// within `watch_period`; a submitter that parks wakes a thread for it at once
// (`wake_for_left_task`).

#include "manta/sched/worker_pool_state.hpp"

namespace manta::detail {

namespace {

/// How long a task left to its submitter waits at most for the watcher
/// (worker_pool::state::watch_wanted) when the submitter does not run it,
/// and how many such periods without a task left so end the watch. Each
/// period is a timer wake-up of the watcher, about what the futex wake-up
/// it stands in for costs: a watch pays only while tasks are left about
/// once a period or more often. With 20 periods (2 ms) a process leaving
/// one task a millisecond spent 10-11% of a core against 3-5% with a
/// wake-up per task; with 3 the watch ends between such tasks.
constexpr std::chrono::microseconds watch_period{100};
constexpr int watch_rounds = 3;

} // namespace

void worker_pool::state::watch(std::unique_lock<std::mutex>& guard) {
  watcher = true;
  auto seen = left_count;
  int quiet = 0;
  while (runnable.empty() && !stopping && quiet < watch_rounds) {
    watching = true;
    watch_cv.wait_for(guard, watch_period);
    watching = false;
    unleave(); // not taken by its submitter within a period: runs here
    if (left_count != seen) {
      seen = left_count;
      quiet = 0;
    } else {
      ++quiet;
    }
  }
  if (quiet >= watch_rounds)
    watch_wanted = false; // no task left to its caller for a while
  watcher = false;
}

void wake_for_left_task() noexcept {
  auto& ctx = this_task();
  if (ctx.left_in.expired())
    return;
  auto sp = std::static_pointer_cast<worker_pool::state>(ctx.left_in.lock());
  ctx.left_in.reset();
  if (!sp)
    return;
  auto& st = *sp;
  if (st.num_runnable.load(std::memory_order_acquire) == 0 && !st.has_left())
    return; // taken meanwhile
  std::lock_guard<std::mutex> guard{st.mtx};
  st.unleave();
  if (st.left_pending && !st.runnable.empty())
    st.wake_one();
}

} // namespace manta::detail
