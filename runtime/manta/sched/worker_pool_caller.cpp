// A thread outside the pool (the driver's own, or any thread of the user's)
// that blocks in `get` on the result of the task it submitted last, still
// queued, takes the task and runs it itself (issue 25, item 1), as TBB's
// `task_group::wait` does: one task at a time then costs no hand-over to a
// pool thread and no wake-up of the caller. Only the last one, as for a
// synchronous actor call (actor_core_inline.cpp): the earlier tasks of a
// list run back to back on the pool threads, and a caller taking one of
// them would only leave a woken pool thread with nothing to do. Pool
// threads help instead (worker_pool_help.cpp).
//
// The task runs as on a pool thread: with its own lease (it is taken only
// once granted, or granted now if its resources are free and nobody with
// the same demand queues before it), through `execute_task` (events,
// cancel, retries, memory monitor), with what a pool thread shows its code
// (`this_task()`: the task, the pool, its id for its children). A task
// whose resources are taken stays queued and the caller parks, as before.
//
// The task left to its submitter (worker_pool_state.hpp, `left`) has both
// its ends here: the submitter's `take_left`, and `unleave`, by which every
// other reader of the queue first moves it into the queue.

#include "manta/actor/actor_core.hpp"
#include "manta/store/allocation_hook.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/sched/worker_pool_state.hpp"

#include <algorithm>

namespace manta::detail {

namespace {

/// How many of the granted tasks a caller looks at for its own, under the
/// pool's lock: the newest (it submitted it last) and the oldest (a `get`
/// of a list reads the oldest first).
constexpr size_t scan_ends = 8;

} // namespace

std::optional<worker_pool::queued> worker_pool::state::take_awaited(const object_slot& slot) {
  auto mine = [&](const queued& q) {
    return q.result == &slot && helpable(*q.task) && !q.task->cancelled();
  };
  auto n = runnable.size();
  for (size_t k = 0; k < n && k < 2 * scan_ends; ++k) {
    // Newest, oldest, second newest, second oldest, ...
    size_t i = k % 2 == 0 ? n - 1 - k / 2 : k / 2;
    if (!mine(runnable[i]))
      continue;
    std::optional<queued> out{std::move(runnable[i])};
    // Mostly the newest (one task at a time) or the oldest: the deque's
    // ends are dropped without `erase`'s general shifting code (3% of one
    // task at a time's samples).
    if (i == n - 1)
      runnable.pop_back();
    else if (i == 0)
      runnable.pop_front();
    else
      runnable.erase(runnable.begin() + static_cast<ptrdiff_t>(i));
    num_runnable.store(runnable.size(), std::memory_order_release);
    return out;
  }
  // Queued for resources: only at the head of its demand's FIFO, and only
  // if they are free now (no task is overtaken, no limit exceeded).
  for (auto& g : waiting) {
    if (g.tasks.empty() || !mine(g.tasks.front()))
      continue;
    if (!try_take(g.demand, g.tasks.front().task->lease_owner()))
      return std::nullopt;
    std::optional<queued> out{std::move(g.tasks.front())};
    g.tasks.pop_front();
    return out;
  }
  return std::nullopt;
}

std::optional<worker_pool::queued> worker_pool::state::take_left(const object_slot& slot) {
  const void* mine = &slot;
  if (left_result.load(std::memory_order_relaxed) != mine
      || !left_result.compare_exchange_strong(mine, busy(), std::memory_order_acquire))
    return std::nullopt;
  // Its own now: nobody else reads `left` while it is busy. A task
  // cancelled meanwhile runs as a pool thread would run it (execute_task
  // returns at once; cancel sealed its result).
  std::optional<queued> out{std::move(*left)};
  left.reset();
  left_result.store(nullptr, std::memory_order_release);
  return out;
}

void worker_pool::state::unleave() {
  auto result = left_result.load(std::memory_order_acquire);
  // Null: none; busy: its submitter takes it now.
  if (result == nullptr || result == busy()
      || !left_result.compare_exchange_strong(result, busy(), std::memory_order_acquire))
    return;
  runnable.push_back(std::move(*left));
  left.reset();
  left_result.store(nullptr, std::memory_order_release);
  num_runnable.store(runnable.size(), std::memory_order_release);
}

bool worker_pool::run_here(const object_slot& slot) {
  auto& ctx = this_task();
  // A pool thread's task helps instead (worker_pool_help.cpp); a thread
  // inside an actor's code, or one running a call inline, does not run a
  // task under it (the task could call that actor).
  if (ctx.task != nullptr || current_actor() != nullptr || ctx.last_scheduled != &slot)
    return false;
  auto& st = *st_;
  // Left out of the queue for this thread (state::left): taken without the
  // lock. Else nothing granted waits for a thread (the usual case of a
  // `get` of a list whose tasks the pool threads run): no lock taken.
  // Resources free beside a queued task are rare (a grant follows every
  // release under the same lock), so that case is left to the pool here.
  auto q = st.take_left(slot);
  if (!q) {
    if (st.num_runnable.load(std::memory_order_acquire) == 0)
      return false;
    std::lock_guard<std::mutex> guard{st.mtx};
    if (st.stopping)
      return false;
    q = st.take_awaited(slot);
  }
  if (!q)
    return false;
  run_taken(st, std::move(*q));
  return true;
}

void worker_pool::run_taken(state& st, queued q) {
  auto& ctx = this_task();
  // What a pool thread shows the task's code: its children know it as
  // their parent, its own waits lend its CPUs and help. The caller's
  // unfinished output line stays its own. `left_in` stays: its task taken,
  // a park finds nothing left to wake for (wake_for_left_task), and the
  // next task left in this pool finds it set (worker_pool.cpp,
  // remember_left). Put back after the run field by field: `ctx.task` was
  // null (checked by run_here; run_granted's data path thread runs none), so the context is
  // restored without copying and assigning its weak pointer.
  auto saved_pool = ctx.pool;
  auto saved_id = ctx.id;
  auto saved_depth = ctx.depth;
  const auto* saved_last = ctx.last_scheduled;
  bool saved_submitting = ctx.submitting;
  ctx.pool = &st;
  ctx.id = task_id(*q.task);
  ctx.depth = 0;
  log_capture::end_of_run();
  bool again = st.run(q.task);
  ctx.task = nullptr;
  ctx.pool = saved_pool;
  ctx.id = saved_id;
  ctx.depth = saved_depth;
  ctx.last_scheduled = saved_last;
  ctx.submitting = saved_submitting;
  bool seal = false;
  std::vector<task_ptr> dropped; // destroyed after the guard unlocks
  {
    // Granting may start a thread (it allocates): never stopped half-way by
    // the memory monitor.
    allocation_hook::hold_off no_stop;
    std::lock_guard<std::mutex> guard{st.mtx};
    st.give_back(q.task->opts.resources, q.task->lease_owner());
    // A retry queues again (run_here's caller, still waiting, may take it
    // again).
    if (again && !st.enqueue(q.task, q.parent))
      seal = true;
    st.grant_waiting(dropped);
  }
  if (seal)
    seal_not_run(*q.task);
}

bool worker_pool::try_grant(const task_ptr& t) {
  std::lock_guard<std::mutex> guard{st_->mtx};
  if (st_->stopping)
    return false;
  auto& g = st_->group_for(t->opts.resources);
  return g.tasks.empty() && st_->try_take(g.demand, t->lease_owner());
}

void worker_pool::run_granted(task_ptr t) {
  // Kept by the thread: a data path thread left behind in its task at
  // shutdown may outlive the pool object, as the pool's own threads do.
  auto keep = st_;
  run_taken(*keep, queued{std::move(t), 0});
}

void worker_pool::pass_granted(task_ptr t) {
  {
    allocation_hook::hold_off no_stop; // granting may start a thread, as above
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (!st_->stopping) {
      st_->push_runnable(queued{std::move(t), 0});
      return;
    }
    st_->give_back(t->opts.resources, t->lease_owner());
  }
  seal_not_run(*t); // without the lock, as in schedule
}

} // namespace manta::detail
