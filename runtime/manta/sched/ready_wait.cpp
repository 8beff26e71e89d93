#include "manta/sched/ready_wait.hpp"

#include "manta/sched/blocking.hpp"
#include "manta/sched/parker.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sched/worker_pool.hpp"

namespace manta::detail {

bool ready_wait::sleep(std::unique_lock<std::mutex>& lock, clock::time_point deadline) {
  auto* t = this_task().task;
  if (t != nullptr && t->cancelled()) {
    lock.unlock();
    throw_if_cancelled(t);
  }
  if (sim_drives_this_thread()) {
    // The simulation runs its events until a producer notifies.
    auto seen = notified_;
    lock.unlock();
    bool notified = sim_block(
      [&] {
        std::lock_guard<std::mutex> guard{mtx_};
        return notified_ != seen;
      },
      deadline, {}, /*poll=*/true);
    lock.lock();
    return notified;
  }
  auto& p = parker::this_thread();
  sleeper_ = &p;
  lock.unlock();
  {
    cpu_loan loan{t};
    // A notify between the unlock and here makes the park return at once.
    p.park_until(deadline);
  }
  lock.lock();
  sleeper_ = nullptr;
  return true;
}

void ready_wait::unpark(parker* p) noexcept {
  p->unpark();
}

} // namespace manta::detail
