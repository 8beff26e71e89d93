#include "manta/detail/worker_pool.hpp"

#include "manta/errors.hpp"

namespace manta::detail {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void seal_not_run(task_spec& t) {
  t.result->seal_error(std::make_exception_ptr(task_cancelled_error(
    "task '" + t.name() + "' was not run: the runtime shut down")));
}

} // namespace

task_context& this_task() noexcept {
  thread_local task_context ctx;
  return ctx;
}

// -- state (all members called with the lock held) ------------------------------

bool worker_pool::state::try_take(const resource_demand& d) {
  if (!d.fits_in(free_cpus, free_custom))
    return false;
  free_cpus -= d.cpus;
  for (auto& [name, amount] : d.custom)
    free_custom[name] -= amount;
  return true;
}

void worker_pool::state::give_back(const resource_demand& d) {
  free_cpus += d.cpus;
  for (auto& [name, amount] : d.custom)
    free_custom[name] += amount;
}

worker_pool::waiting_group& worker_pool::state::group_for(const resource_demand& d) {
  for (auto& g : waiting)
    if (g.demand.cpus == d.cpus && g.demand.custom == d.custom)
      return g;
  waiting.push_back(waiting_group{d, {}});
  return waiting.back();
}

void worker_pool::state::push_runnable(task_ptr t) {
  runnable.push_back(std::move(t));
  num_runnable.store(runnable.size(), std::memory_order_release);
  if (runnable.size() > idle) {
    ++idle;
    ++live;
    threads.emplace_back(worker_loop, shared_from_this());
  } else if (sleeping > 0) {
    work_cv.notify_one();
  }
}

void worker_pool::state::grant_waiting() {
  for (auto& g : waiting) {
    while (!g.tasks.empty()) {
      auto& t = g.tasks.front();
      if (!t->cancelled()) { // a cancelled task's result is sealed already
        if (!try_take(g.demand))
          break;
        push_runnable(std::move(t));
      }
      g.tasks.pop_front();
    }
  }
}

void worker_pool::state::enqueue(task_ptr t) {
  if (stopping) {
    seal_not_run(*t);
    return;
  }
  auto& g = group_for(t->opts.resources);
  if (g.tasks.empty() && try_take(g.demand))
    push_runnable(std::move(t));
  else
    g.tasks.push_back(std::move(t));
}

void worker_pool::state::lend(double cpus) {
  free_cpus += cpus;
  grant_waiting();
}

void worker_pool::state::reclaim(double cpus) {
  free_cpus -= cpus;
}

// -- worker_pool ------------------------------------------------------------------

worker_pool::worker_pool(double cpus, resource_map custom, run_fn run)
  : st_(std::make_shared<state>()) {
  st_->free_cpus = st_->total_cpus = cpus;
  st_->free_custom = st_->total_custom = std::move(custom);
  st_->run = run;
}

worker_pool::~worker_pool() {
  stop(std::chrono::milliseconds{0});
}

void worker_pool::schedule(task_ptr t) {
  std::lock_guard<std::mutex> guard{st_->mtx};
  st_->enqueue(std::move(t));
}

void worker_pool::worker_loop(std::shared_ptr<state> sp) {
  auto& st = *sp;
  this_task().pool = sp.get();
  std::unique_lock<std::mutex> guard{st.mtx};
  for (;;) {
    if (!st.runnable.empty()) {
      auto t = std::move(st.runnable.front());
      st.runnable.pop_front();
      st.num_runnable.store(st.runnable.size(), std::memory_order_release);
      --st.idle;
      guard.unlock();
      bool again = st.run(t);
      guard.lock();
      ++st.idle;
      st.give_back(t->opts.resources);
      if (again)
        st.enqueue(std::move(t));
      st.grant_waiting();
      continue;
    }
    if (st.stopping)
      break;
    // Spin briefly before sleeping: a busy node grants the next task within
    // microseconds, and a condition-variable wake-up costs more than that.
    if (st.spinning == 0) {
      ++st.spinning;
      guard.unlock();
      for (int i = 0; i < 2000 && st.num_runnable.load(std::memory_order_acquire) == 0; ++i)
        cpu_relax();
      guard.lock();
      --st.spinning;
    }
    if (st.runnable.empty() && !st.stopping) {
      ++st.sleeping;
      st.work_cv.wait(guard, [&] { return !st.runnable.empty() || st.stopping; });
      --st.sleeping;
    }
  }
  --st.idle;
  --st.live;
  st.exit_cv.notify_all();
}

std::pair<resource_map, resource_map> worker_pool::resources() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  std::pair<resource_map, resource_map> out{st_->free_custom, st_->total_custom};
  out.first[cpu_resource] = std::max(0.0, st_->free_cpus);
  out.second[cpu_resource] = st_->total_cpus;
  return out;
}

size_t worker_pool::num_queued() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  size_t n = 0;
  for (auto& g : st_->waiting)
    n += g.tasks.size();
  return n;
}

size_t worker_pool::num_threads() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->threads.size();
}

size_t worker_pool::stop(std::chrono::milliseconds grace) {
  auto& st = *st_;
  std::vector<std::thread> threads;
  {
    std::unique_lock<std::mutex> guard{st.mtx};
    if (!st.stopping) {
      st.stopping = true;
      for (auto& g : st.waiting)
        for (auto& t : g.tasks)
          seal_not_run(*t);
      st.waiting.clear();
      for (auto& t : st.runnable)
        seal_not_run(*t);
      st.runnable.clear();
      st.work_cv.notify_all();
    }
    st.exit_cv.wait_for(guard, grace, [&] { return st.live == 0; });
    threads.swap(st.threads);
  }
  size_t left_behind = 0;
  for (auto& t : threads) {
    // A thread that has left its loop is joined at once; one still inside
    // user code is left to finish on its own (it keeps the state alive).
    std::unique_lock<std::mutex> guard{st.mtx};
    bool all_done = st.live == 0;
    guard.unlock();
    if (all_done) {
      t.join();
    } else {
      t.detach();
      ++left_behind;
    }
  }
  return left_behind;
}

void lend_current_cpus() noexcept {
  auto& ctx = this_task();
  if (ctx.task == nullptr || ctx.pool == nullptr || ctx.task->opts.resources.cpus <= 0)
    return;
  auto& st = *static_cast<worker_pool::state*>(ctx.pool);
  std::lock_guard<std::mutex> guard{st.mtx};
  st.lend(ctx.task->opts.resources.cpus);
}

void reclaim_current_cpus() noexcept {
  auto& ctx = this_task();
  if (ctx.task == nullptr || ctx.pool == nullptr || ctx.task->opts.resources.cpus <= 0)
    return;
  auto& st = *static_cast<worker_pool::state*>(ctx.pool);
  std::lock_guard<std::mutex> guard{st.mtx};
  st.reclaim(ctx.task->opts.resources.cpus);
}

} // namespace manta::detail
