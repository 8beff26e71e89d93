#pragma once

namespace manta::detail {

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

/// Throws task_cancelled_error if `t` (the task blocking, or null) was
/// cancelled: a cancelled task stops at its next wait.
void throw_if_cancelled(task_spec* t);

} // namespace manta::detail
