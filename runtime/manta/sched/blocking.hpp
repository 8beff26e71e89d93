#pragma once

#include "manta/sched/worker_pool.hpp"

namespace manta::detail {

class object_slot;
class task_spec;

/// While a task blocks (in `get`, `wait` or `as_completed`), its CPUs go
/// back to the pool so that the tasks it waits for can run: nested and
/// recursive tasks cannot deadlock. `t` is null outside a task.
class cpu_loan {
public:
  explicit cpu_loan(task_spec* t);
  ~cpu_loan();
  cpu_loan(const cpu_loan&) = delete;
  cpu_loan& operator=(const cpu_loan&) = delete;

private:
  task_spec* task_;
};

/// What a helping wait waits for: whether it is over, and whether the
/// result `s` of a queued task is one of the objects it waits for (that
/// task then runs first).
class wait_target {
public:
  virtual bool ready() const noexcept = 0;
  virtual bool awaits(const object_slot& s) const noexcept = 0;

protected:
  ~wait_target() = default;
};

/// A `cpu_loan` whose thread runs the tasks it waits for and its task's
/// children while it waits (worker_pool_help.cpp): the caller loops on `help()` before each
/// park. Where the thread cannot help (not a plain task, inside an actor's
/// code, `max_help_depth` waits deep) it is a plain loan and `help()` is
/// false. Waits with a deadline use a plain loan: a task run under them
/// could not keep it.
class helping_wait {
public:
  helping_wait(task_spec* t, const wait_target& target);
  ~helping_wait();
  helping_wait(const helping_wait&) = delete;
  helping_wait& operator=(const helping_wait&) = delete;

  /// Runs one such task on this thread: true if it ran one (check the
  /// wait again), false if there is none (park; one granted meanwhile
  /// wakes the thread).
  bool help() { return helping_ && help_step(record_); }

private:
  task_spec* task_;
  help_record record_;
  bool helping_ = false;
};

/// Throws task_cancelled_error if `t` (the task blocking, or null) was
/// cancelled: a cancelled task stops at its next wait.
void throw_if_cancelled(task_spec* t);

} // namespace manta::detail
