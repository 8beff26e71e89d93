#include "manta/sched/worker_pool_state.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/sched/gpu_env.hpp"
#include "manta/sched/contention.hpp"
#include "manta/sched/parker.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/errors.hpp"

#include <pthread.h>

namespace manta::detail {

namespace {

/// How many pauses an idle spinning pool thread leaves a granted task to
/// the thread that submitted it before taking it (see worker_loop).
constexpr int caller_grace_steps = 24;

} // namespace

void seal_not_run(task_spec& t) {
  auto err = std::make_exception_ptr(
    task_cancelled_error("task '" + t.name() + "' was not run: the runtime shut down"));
  end_task(t, task_state::cancelled, err);
}

task_context& this_task() noexcept {
  thread_local task_context ctx;
  return ctx;
}

// -- state (all members called with the lock held) ------------------------------

void worker_pool::state::push_runnable(queued q, bool left_to_caller) {
  // The only task in sight, pushed by a submitter that will likely run it
  // itself, while the watcher sleeps: left out of the queue for it (see
  // `left`), as the branch below would leave it there without a wake-up.
  if (left_to_caller && watching && runnable.empty() && idle > 0
      && (spinning == 0 || oversubscribed()) && helpers.empty() && q.result != nullptr
      && helpable(*q.task) && left_result.load(std::memory_order_acquire) == nullptr) {
    const void* result = q.result;
    left.emplace(std::move(q));
    left_result.store(result, std::memory_order_release);
    ++left_count;
    left_pending = true;
    return;
  }
  // A task left so goes first, in its order: the wake-ups below count it
  // (a pool thread woken for this task would not see it where it is).
  unleave();
  runnable.push_back(std::move(q));
  num_runnable.store(runnable.size(), std::memory_order_release);
  if (runnable.size() > idle) {
    // A thread whose task waits for it, or its parent waiting, runs it on
    // its own stack (worker_pool_help.cpp): no thread per blocked task.
    if (!claim_helper(runnable.back()))
      start_thread();
  } else if ((sleeping > signaled || watching)
             && (runnable.size() > spinning || oversubscribed())) {
    // A spinning thread takes the task without a wake-up, unless the
    // machine is oversubscribed: the spinner may then be off its core for
    // a time slice (milliseconds), and a sleeper, once woken, runs at once.
    // The only task in sight, pushed by a submitter that will likely run it
    // itself, is left to it while the watcher sleeps (see watch_wanted).
    if (left_to_caller && runnable.size() == 1) {
      if (watching) {
        ++left_count;
        left_pending = true;
        return;
      }
      watch_wanted = true;
    }
    wake_one();
  }
}

void worker_pool::state::wake_one() {
  left_pending = false;
  if (sleeping > signaled) {
    ++signaled;
    work_cv.notify_one();
  } else if (watching) {
    watching = false; // a task left to its caller now wakes someone else
    watch_cv.notify_one();
  }
}

void worker_pool::state::start_thread() {
  join_exited();
  ++idle;
  ++live;
  std::thread t{worker_loop, shared_from_this()};
  auto id = t.get_id();
  threads.emplace(id, std::move(t));
}

void worker_pool::state::join_exited() {
  // An exited thread no longer needs the lock, so joining it here is quick.
  for (auto id : exited) {
    auto i = threads.find(id);
    if (i != threads.end()) {
      i->second.join();
      threads.erase(i);
    }
  }
  exited.clear();
}

void worker_pool::state::grant_waiting(std::vector<task_ptr>& dropped) {
  for (auto& g : waiting) {
    while (!g.tasks.empty()) {
      auto& q = g.tasks.front();
      if (!q.task->cancelled()) { // a cancelled task's result is sealed already
        if (!try_take(g.demand, q.task->lease_owner()))
          break;
        push_runnable(std::move(q));
      } else {
        dropped.push_back(std::move(q.task));
      }
      g.tasks.pop_front();
    }
  }
}

namespace {

/// The id of the task the calling thread runs (its children's parent),
/// given that thread's context.
uint64_t caller_id(const task_context& ctx, const void* pool) noexcept {
  return ctx.task != nullptr && ctx.pool == pool && helpable(*ctx.task) ? ctx.id : 0;
}

/// The same, for the calling thread.
uint64_t caller_id(const void* pool) noexcept {
  return caller_id(this_task(), pool);
}

} // namespace

bool worker_pool::state::enqueue(task_ptr& t) {
  return enqueue(t, caller_id(this));
}

bool worker_pool::state::enqueue(task_ptr& t, uint64_t parent, bool left_to_caller) {
  if (stopping)
    return false;
  auto& g = group_for(t->opts.resources);
  if (g.tasks.empty() && try_take(g.demand, t->lease_owner()))
    push_runnable(queued{std::move(t), parent}, left_to_caller);
  else
    g.tasks.push_back(queued{std::move(t), parent});
  return true;
}

// -- worker_pool ------------------------------------------------------------------

namespace {

/// Makes the pool's lock an adaptive one (glibc): a thread that finds it
/// taken retries for a short while before it sleeps in the kernel. The lock
/// is held for a few dozen instructions, by the submitter and by every pool
/// thread once per task, so with a plain mutex spawn + get slept and woke
/// on it about once per task (a futex wait and a futex wake, most of that
/// metric's system calls). `std::mutex` is a `pthread_mutex_t` and keeps no
/// other state, so re-initializing it before its first use is all it takes;
/// `std::condition_variable` waits on it as on any pthread mutex.
void make_adaptive(std::mutex& m) noexcept {
#if defined(__GLIBC__) && defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
  pthread_mutexattr_t attr;
  if (pthread_mutexattr_init(&attr) != 0)
    return;
  if (pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP) == 0)
    pthread_mutex_init(m.native_handle(), &attr);
  pthread_mutexattr_destroy(&attr);
#else
  (void)m;
#endif
}

} // namespace

worker_pool::worker_pool(double cpus, resource_map custom, size_t core_threads, run_fn run)
  : st_(std::make_shared<state>()) {
  make_adaptive(st_->mtx);
  st_->free_cpus = st_->total_cpus = cpus;
  st_->free_custom = st_->total_custom = std::move(custom);
  if (auto gpus = st_->total_custom.find(gpu_resource); gpus != st_->total_custom.end())
    st_->gpu_free = gpu_capacities(gpus->second);
  st_->core_threads = std::max<size_t>(1, core_threads);
  st_->run = run;
  std::lock_guard<std::mutex> guard{st_->mtx};
  for (size_t i = 0; i < st_->core_threads; ++i)
    st_->start_thread();
}

worker_pool::~worker_pool() {
  stop(std::chrono::milliseconds{0});
}

namespace {

/// Remembers, on a thread outside the pool, the task it hands over: its
/// `get` right after may run it itself (worker_pool_caller.cpp). True if
/// user code on such a thread submits it (not a task of an actor's code
/// nor one whose arguments came later): the task is left to it
/// (worker_pool::state::watch_wanted).
/// Points `ctx.left_in` at `st`, the pool a task of the thread was just left
/// in. Assigned only when it points elsewhere (compared by owner, without an
/// atomic operation): kept once its task is taken (`run_here`), it already
/// points at `st` for the next task, where assigning it every time cost two
/// atomic operations a task one at a time (the weak count's up and down).
template <class State>
void remember_left(task_context& ctx, const std::shared_ptr<State>& st) noexcept {
  if (ctx.left_in.expired() || ctx.left_in.owner_before(st) || st.owner_before(ctx.left_in))
    ctx.left_in = st;
}

bool note_scheduled(task_context& ctx, const task_spec& t) noexcept {
  if (ctx.task != nullptr)
    return false;
  ctx.last_scheduled = t.result.get();
  return ctx.submitting && ctx.pool == nullptr && current_actor() == nullptr;
}

} // namespace

void worker_pool::schedule(task_ptr t) {
  // The thread's context, looked up once (it is a thread_local behind a
  // call): for the note, the parent's id and the task left to it.
  auto& ctx = this_task();
  bool left = note_scheduled(ctx, *t);
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (st_->enqueue(t, caller_id(ctx, st_.get()), left)) {
      if (left && st_->left_pending)
        remember_left(ctx, st_);
      return;
    }
  }
  // Sealed and dropped without the lock: dropping a task may run user code
  // (the destructors of its arguments), which may schedule on this pool.
  seal_not_run(*t);
}

namespace {

/// Takes off the queues of `st` (the pool's state, its lock held) the first
/// waiting task whose resources are free, with its lease, for the calling
/// pool thread to run next; none if none fits. Cancelled tasks it passes go
/// to `dropped`, as in grant_waiting. A template only to name the pool's
/// private types (`Queued`: worker_pool::queued).
template <class Queued, class State>
std::optional<Queued> grant_to_self(State& st, std::vector<task_ptr>& dropped) {
  // grant_waiting's order, stopped at its first grant: the grants that
  // follow (st.grant_waiting) are the ones it would have made after it.
  // Passing the task through `runnable` instead cost a push and a pop per
  // task of a long list (two stores of `num_runnable` a reader polls), and
  // the push could wake a sleeping thread for a task this one takes.
  for (auto& g : st.waiting) {
    while (!g.tasks.empty()) {
      auto& q = g.tasks.front();
      if (q.task->cancelled()) { // its result is sealed already
        dropped.push_back(std::move(q.task));
        g.tasks.pop_front();
        continue;
      }
      if (!st.try_take(g.demand, q.task->lease_owner()))
        break;
      std::optional<Queued> out{std::move(q)};
      g.tasks.pop_front();
      return out;
    }
  }
  return std::nullopt;
}

} // namespace

void worker_pool::worker_loop(std::shared_ptr<state> sp) {
  auto& st = *sp;
  this_task().pool = sp.get();
  // The task this thread ran last, released only with the lock given back:
  // its destructor may run user code (the destructors of its arguments, e.g.
  // the last handle of an actor), which may schedule on this pool.
  task_ptr finished;
  bool seal_finished = false;     // a retry that came too late: the pool stops
  std::vector<task_ptr> dropped; // cancelled tasks taken off the queues
  auto release_finished = [&] { // with the lock given back
    if (seal_finished)
      seal_not_run(*finished);
    finished.reset();
    seal_finished = false;
    dropped.clear();
  };
  // The task this thread granted itself when it finished its last one (see
  // `grant_to_self`): it runs next, without a pass through `runnable`.
  std::optional<queued> next;
  std::unique_lock<std::mutex> guard{st.mtx};
  for (;;) {
    if (!next && st.runnable.empty())
      st.unleave(); // the task left to its submitter: the queue's only entry
    if (next || !st.runnable.empty()) {
      task_ptr t;
      uint64_t parent = 0;
      if (next) { // not counted idle (see below)
        t = std::move(next->task);
        parent = next->parent;
        next.reset();
      } else {
        t = std::move(st.runnable.front().task);
        parent = st.runnable.front().parent;
        st.runnable.pop_front();
        st.num_runnable.store(st.runnable.size(), std::memory_order_release);
        --st.idle;
      }
      this_task().id = task_id(*t);
      guard.unlock();
      release_finished();
      bool again = st.run(t);
      guard.lock();
      ++st.idle; // before a retry's enqueue: it counts this thread as free
      if (!t->keeps_lease)
        st.give_back(t->opts.resources, t->lease_owner());
      if (again && !st.enqueue(t, parent))
        seal_finished = true;
      finished = std::move(t); // empty if enqueued again
      // No granted task waits for a thread: the first one its lease's
      // release lets through is this thread's next, as it would take it
      // from `runnable` at once anyway.
      if (st.runnable.empty()) {
        next = grant_to_self<queued>(st, dropped);
        if (next)
          --st.idle;
      }
      st.grant_waiting(dropped);
      continue;
    }
    if (finished || !dropped.empty()) {
      guard.unlock();
      release_finished();
      guard.lock();
      continue;
    }
    if (st.stopping)
      break;
    // Spin briefly before sleeping: a busy node grants the next task within
    // microseconds, and a condition-variable wake-up costs more than that.
    // Not on an oversubscribed machine (contention.hpp).
    if (st.spinning == 0 && !oversubscribed()) {
      ++st.spinning;
      guard.unlock();
      spin_scope counted;
      // Steps the granted task in sight has been left to its submitter: a
      // thread outside the pool that blocks on it at once runs it itself
      // (worker_pool_caller.cpp), cheaper than a hand-over to this thread
      // and back, so it gets about a microsecond first. Without this the
      // spinner took nearly every such task on a quiet machine.
      int left_to_caller = 0;
      for (int i = 0; i < spin_steps; ++i) {
        if (st.num_runnable.load(std::memory_order_acquire) != 0 || st.has_left()) {
          if (++left_to_caller > caller_grace_steps)
            break;
          cpu_relax();
          continue;
        }
        left_to_caller = 0; // taken by its caller: spin on for the next one
        if (i % spin_check_steps == spin_check_steps - 1 && oversubscribed())
          break;
        spin_step(i);
      }
      guard.lock();
      --st.spinning;
    }
    if (st.runnable.empty() && !st.stopping && st.watch_wanted && !st.watcher) {
      st.watch(guard);
      continue;
    }
    if (st.runnable.empty() && !st.stopping) {
      auto has_work = [&] { return !st.runnable.empty() || st.stopping; };
      auto until = std::chrono::steady_clock::now() + idle_timeout;
      bool timed_out = false;
      ++st.sleeping;
      while (!has_work() && !timed_out) {
        if (st.live > st.core_threads)
          timed_out = st.work_cv.wait_until(guard, until) == std::cv_status::timeout;
        else
          st.work_cv.wait(guard);
        // Each return may have taken a wake-up sent to the sleepers (this
        // thread is one again if it sleeps on): never wait for it twice.
        if (st.signaled > 0)
          --st.signaled;
      }
      --st.sleeping;
      if (timed_out && !has_work() && st.live > st.core_threads) {
        st.exited.push_back(std::this_thread::get_id());
        break;
      }
    }
  }
  --st.idle;
  --st.live;
  st.exit_cv.notify_all();
}

bool worker_pool::try_schedule(task_ptr& t) {
  auto& ctx = this_task(); // once, as in schedule
  bool left = note_scheduled(ctx, *t);
  std::lock_guard<std::mutex> guard{st_->mtx};
  if (st_->stopping)
    return false;
  auto& g = st_->group_for(t->opts.resources);
  if (!g.tasks.empty() || !st_->try_take(g.demand, t->lease_owner()))
    return false;
  st_->push_runnable(queued{std::move(t), caller_id(ctx, st_.get())}, left);
  if (left && st_->left_pending)
    remember_left(ctx, st_);
  return true;
}

std::vector<task_ptr> worker_pool::withdraw(const std::vector<uint64_t>& ids, size_t limit) {
  std::unordered_set<uint64_t> wanted(ids.begin(), ids.end());
  std::vector<task_ptr> out;
  std::lock_guard<std::mutex> guard{st_->mtx};
  for (auto& g : st_->waiting) {
    for (auto i = g.tasks.end(); i != g.tasks.begin() && out.size() < limit;) {
      --i;
      auto& t = i->task;
      if (t->result && wanted.count(t->result->id().value()) > 0) {
        out.push_back(std::move(t));
        i = g.tasks.erase(i);
      }
    }
  }
  return out;
}

void worker_pool::release(const resource_demand& d, const void* owner) {
  std::vector<task_ptr> dropped; // destroyed after the guard unlocks
  std::lock_guard<std::mutex> guard{st_->mtx};
  st_->give_back(d, owner);
  st_->grant_waiting(dropped);
}

size_t worker_pool::stop(std::chrono::milliseconds grace) {
  auto& st = *st_;
  std::unique_lock<std::mutex> guard{st.mtx};
  if (!st.stopping) {
    st.stopping = true;
    st.unleave();
    std::vector<task_ptr> dropped;
    for (auto& g : st.waiting)
      for (auto& q : g.tasks)
        dropped.push_back(std::move(q.task));
    st.waiting.clear();
    for (auto& q : st.runnable)
      dropped.push_back(std::move(q.task));
    st.runnable.clear();
    st.num_runnable.store(0, std::memory_order_release);
    st.work_cv.notify_all();
    st.watch_cv.notify_all();
    // Sealed and dropped without the lock (see schedule).
    guard.unlock();
    for (auto& t : dropped)
      seal_not_run(*t);
    dropped.clear();
    guard.lock();
  }
  st.exit_cv.wait_for(guard, grace, [&] { return st.live == 0; });
  auto threads = std::move(st.threads);
  st.threads.clear();
  st.exited.clear();
  bool all_done = st.live == 0;
  guard.unlock();
  // Threads that left their loop are joined; a thread still inside user
  // code is left to finish on its own (it keeps the state alive).
  size_t left_behind = 0;
  for (auto& [id, t] : threads) {
    if (all_done) {
      t.join();
    } else {
      t.detach();
      ++left_behind;
    }
  }
  return left_behind;
}

} // namespace manta::detail
