#include "manta/detail/executor.hpp"

#include <sched.h>

namespace manta::detail {

executor::executor(size_t initial_threads, run_fn run)
  : shared_(std::make_shared<shared_state>()) {
  shared_->run = run;
  std::lock_guard<std::mutex> guard{shared_->mtx};
  for (size_t i = 0; i < initial_threads; ++i)
    start_thread();
}

executor::~executor() {
  stop(std::chrono::milliseconds{0});
}

void executor::start_thread() {
  // Called with the lock held.
  ++shared_->idle;
  ++shared_->live;
  threads_.emplace_back(worker_loop, shared_);
}

void executor::submit(task_ptr t) {
  auto& st = *shared_;
  std::lock_guard<std::mutex> guard{st.mtx};
  st.queue.push_back(std::move(t));
  st.queued.store(st.queue.size(), std::memory_order_release);
  if (st.queue.size() > st.idle)
    start_thread();
  else if (st.sleeping > 0)
    st.cv.notify_one();
}

void executor::worker_loop(std::shared_ptr<shared_state> sp) {
  auto& st = *sp;
  std::unique_lock<std::mutex> guard{st.mtx};
  for (;;) {
    if (!st.queue.empty()) {
      auto t = std::move(st.queue.front());
      st.queue.pop_front();
      st.queued.store(st.queue.size(), std::memory_order_release);
      --st.idle;
      guard.unlock();
      st.run(t);
      t.reset();
      guard.lock();
      ++st.idle;
      continue;
    }
    if (st.stop)
      break;
    // Spin a little before sleeping: a busy node hands over a new task
    // within microseconds, and a condition variable wake-up costs far more.
    guard.unlock();
    for (int i = 0; i < 300 && st.queued.load(std::memory_order_acquire) == 0; ++i)
      sched_yield();
    guard.lock();
    if (st.queue.empty() && !st.stop) {
      ++st.sleeping;
      st.cv.wait(guard, [&] { return !st.queue.empty() || st.stop; });
      --st.sleeping;
    }
  }
  --st.idle;
  --st.live;
  st.idle_cv.notify_all();
}

size_t executor::stop(std::chrono::milliseconds grace) {
  auto& st = *shared_;
  {
    std::unique_lock<std::mutex> guard{st.mtx};
    st.stop = true;
    st.cv.notify_all();
    st.idle_cv.wait_for(guard, grace, [&] { return st.live == 0; });
    st.running.store(false);
  }
  size_t detached = 0;
  std::unique_lock<std::mutex> guard{st.mtx};
  bool all_done = st.live == 0;
  guard.unlock();
  for (auto& t : threads_) {
    if (!t.joinable())
      continue;
    if (all_done) {
      t.join();
    } else {
      t.detach();
      ++detached;
    }
  }
  threads_.clear();
  return detached;
}

size_t executor::num_threads() const {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  return threads_.size();
}

} // namespace manta::detail
