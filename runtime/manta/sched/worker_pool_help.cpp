// Help while waiting: a pool thread whose task blocks in `get` or `wait`
// runs ready tasks on its own stack (TBB's scheme), so a recursive
// fork-join needs no thread per blocked task (issue 25, item 3).
//
// Only the task it waits for (first) and its own children run under a
// waiting task: unrelated work, which could wait for something only the
// waiting task produces after its wait, never lands under it (a child may,
// as in TBB: docs/architecture.md says when). Actors' jobs never run under
// a waiting task, and a thread inside an actor's code does not help (the
// actor is busy with it). Each task run here holds its own lease; the
// waiting task's CPUs are lent for the whole wait.

#include "manta/actor/actor_core.hpp"
#include "manta/store/allocation_hook.hpp"
#include "manta/sched/blocking.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/store/memory_monitor.hpp"
#include "manta/sched/parker.hpp"
#include "manta/sched/worker_pool_state.hpp"

#include <algorithm>

namespace manta::detail {

namespace {

/// How many entries of each queue a waiting thread looks at, under the
/// pool's lock: the newest (its children were queued last) and, for the task
/// it waits for, the oldest too (a `get` of a list reads the oldest first).
constexpr size_t scan_newest = 16;
constexpr size_t scan_oldest = 8;

} // namespace

bool worker_pool::state::claim_helper(const queued& q) {
  if (helpers.empty() || !helpable(*q.task))
    return false;
  for (auto* h : helpers)
    if (!h->claimed && (h->id == q.parent || (q.result && h->target->awaits(*q.result)))) {
      h->claimed = true;
      h->wake->unpark();
      return true;
    }
  return false;
}

std::optional<worker_pool::queued> worker_pool::state::pick_for(help_record& h) {
  auto awaited = [&](const queued& q) {
    return q.result != nullptr && h.target->awaits(*q.result) && helpable(*q.task)
           && !q.task->cancelled();
  };
  auto child = [&](const queued& q) {
    return q.parent == h.id && helpable(*q.task) && !q.task->cancelled();
  };
  // Positions of `d` worth a look: the newest, then the oldest.
  auto candidates = [](auto& d, bool oldest_too, auto f) {
    size_t n = d.size();
    for (size_t k = 0; k < std::min(n, scan_newest); ++k)
      if (f(n - 1 - k))
        return true;
    if (oldest_too)
      for (size_t k = 0; k < std::min(n - std::min(n, scan_newest), scan_oldest); ++k)
        if (f(k))
          return true;
    return false;
  };
  std::optional<queued> out;
  auto take_runnable = [&](size_t i) {
    out.emplace(std::move(runnable[i]));
    runnable.erase(runnable.begin() + static_cast<ptrdiff_t>(i));
    num_runnable.store(runnable.size(), std::memory_order_release);
    return true;
  };
  auto take_waiting = [&](waiting_group& g, size_t i) {
    if (!try_take(g.demand, g.tasks[i].task->lease_owner()))
      return false;
    out.emplace(std::move(g.tasks[i]));
    g.tasks.erase(g.tasks.begin() + static_cast<ptrdiff_t>(i));
    return true;
  };
  // The task waited for, granted already, else queued for resources:
  // granted with the CPUs this thread lent, ahead of the FIFO (the
  // lender's own dependency).
  if (candidates(runnable, true,
                 [&](size_t i) { return awaited(runnable[i]) && take_runnable(i); }))
    return out;
  for (auto& g : waiting)
    if (candidates(g.tasks, true,
                   [&](size_t i) { return awaited(g.tasks[i]) && take_waiting(g, i); }))
      return out;
  // Else the newest child, granted or queued.
  if (candidates(runnable, false, [&](size_t i) { return child(runnable[i]) && take_runnable(i); }))
    return out;
  for (auto& g : waiting)
    if (candidates(g.tasks, false,
                   [&](size_t i) { return child(g.tasks[i]) && take_waiting(g, i); }))
      return out;
  return std::nullopt;
}

bool help_begin(help_record& h) noexcept {
  auto& ctx = this_task();
  if (ctx.task == nullptr || ctx.pool == nullptr || ctx.id == 0 || ctx.depth >= max_help_depth
      || current_actor() != nullptr || !helpable(*ctx.task))
    return false;
  h.task = ctx.task;
  h.id = ctx.id;
  h.wake = &parker::this_thread();
  // Lent by the first help_step, under the lock it takes anyway (a wait
  // that ends before it costs no lock), and not granted at once: they go
  // to the task waited for first, then to the queue's head.
  h.to_lend = std::max(0.0, ctx.task->opts.resources.cpus);
  return true;
}

bool help_step(help_record& h) {
  auto& ctx = this_task();
  auto& st = *static_cast<worker_pool::state*>(ctx.pool);
  std::optional<worker_pool::queued> q;
  std::vector<task_ptr> dropped; // destroyed after the guard unlocks
  {
    // Granting may start a thread (it allocates): never stopped half-way by
    // the memory monitor.
    allocation_hook::hold_off no_stop;
    std::lock_guard<std::mutex> guard{st.mtx};
    h.locked_once = true;
    if (h.to_lend > 0) {
      st.free_cpus += h.to_lend;
      h.lent = h.to_lend;
      h.to_lend = 0;
    }
    st.unleave(); // a task left to its submitter: the queue's only entry
    if (!st.stopping)
      q = st.pick_for(h);
    if (!q) {
      if (!h.registered) {
        st.helpers.push_back(&h);
        h.registered = true;
      }
      if (h.claimed && !st.runnable.empty() && st.runnable.size() > st.idle
          && !st.claim_helper(st.runnable.back()))
        st.start_thread(); // woken for a task another thread took meanwhile
      h.claimed = false;
      st.grant_waiting(dropped); // may grant a task for h and claim it
      if (h.claimed && !st.stopping)
        q = st.pick_for(h);
      if (!q)
        return false;
    }
    if (h.registered) {
      std::erase(st.helpers, &h);
      h.registered = false;
    }
    // Woken for a task but runs another (the one it waits for): the one it
    // was woken for gets another thread.
    if (h.claimed && !st.runnable.empty() && st.runnable.size() > st.idle
        && !st.claim_helper(st.runnable.back()))
      st.start_thread();
    h.claimed = false;
  }
  // Run on this stack, with what a pool thread shows the task's code; the
  // waiting task's unfinished output line stays its own.
  auto saved = ctx;
  ctx.id = task_id(*q->task);
  ctx.depth = saved.depth + 1;
  log_capture::end_of_run();
  bool again = st.run(q->task);
  ctx = saved;
  // The waiting task's run is watched again by the memory monitor (the
  // nested run ended its watch).
  memory_monitor::begin_run(h.task->attempts.load(std::memory_order_relaxed)
                            <= h.task->opts.max_retries);
  bool seal = false;
  {
    allocation_hook::hold_off no_stop;
    std::lock_guard<std::mutex> guard{st.mtx};
    st.give_back(q->task->opts.resources, q->task->lease_owner());
    if (again && !st.enqueue(q->task, q->parent))
      seal = true;
    // The wait is over: its CPUs are taken back before anything else is
    // granted, so they stay with this task (no thread for another one).
    // Not over: nothing is granted here either, so the next help_step gives
    // what is free to another task this one waits for first (help_end
    // grants what is left).
    if (h.target->ready()) {
      st.reclaim(h.lent);
      h.lent = 0;
      st.grant_waiting(dropped);
      h.locked_once = false; // nothing left for help_end to do
    }
  }
  if (seal)
    seal_not_run(*q->task);
  return true;
}

void help_end(help_record& h) noexcept {
  if (!h.locked_once && !h.registered && !h.claimed && h.lent == 0)
    return; // never lent, or settled right after a task it ran
  auto& st = *static_cast<worker_pool::state*>(this_task().pool);
  allocation_hook::hold_off no_stop;
  std::vector<task_ptr> dropped; // destroyed after the guard unlocks
  std::lock_guard<std::mutex> guard{st.mtx};
  if (h.registered) {
    std::erase(st.helpers, &h);
    h.registered = false;
  }
  if (h.lent > 0)
    st.reclaim(h.lent);
  h.lent = 0;
  // What a task run here freed and was not granted yet.
  st.grant_waiting(dropped);
  // Woken for a task it leaves: another waiting thread or a new one runs it.
  if (h.claimed && !st.runnable.empty() && st.runnable.size() > st.idle
      && !st.claim_helper(st.runnable.back()))
    st.start_thread();
  h.claimed = false;
}

} // namespace manta::detail
