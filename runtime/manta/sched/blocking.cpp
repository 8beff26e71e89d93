#include "manta/sched/blocking.hpp"

#include "manta/sched/parker.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/errors.hpp"

namespace manta::detail {

cpu_loan::cpu_loan(task_spec* t) : task_(t) {
  if (task_ == nullptr)
    return;
  task_->blocked_on.store(&parker::this_thread(), std::memory_order_release);
  lend_current_cpus();
}

cpu_loan::~cpu_loan() {
  if (task_ == nullptr)
    return;
  task_->blocked_on.store(nullptr, std::memory_order_release);
  reclaim_current_cpus();
}

helping_wait::helping_wait(task_spec* t, const wait_target& target) : task_(t) {
  if (task_ == nullptr)
    return;
  task_->blocked_on.store(&parker::this_thread(), std::memory_order_release);
  record_.target = &target;
  helping_ = help_begin(record_);
  if (!helping_)
    lend_current_cpus();
}

helping_wait::~helping_wait() {
  if (task_ == nullptr)
    return;
  task_->blocked_on.store(nullptr, std::memory_order_release);
  if (helping_)
    help_end(record_);
  else
    reclaim_current_cpus();
}

void throw_if_cancelled(task_spec* t) {
  if (t != nullptr && t->cancelled())
    throw task_cancelled_error("task '" + t->name() + "' was cancelled while it waited in get");
}

} // namespace manta::detail
