#include "manta/detail/item_stream.hpp"

#include "manta/detail/blocking.hpp"
#include "manta/detail/object_table.hpp"
#include "manta/detail/parker.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/errors.hpp"

#include <utility>

namespace manta::detail {

item_stream::~item_stream() {
  // Under the slot's lock: a seal telling end_ is over before it dies.
  if (done_)
    done_->remove_waiter(&end_);
}

void item_stream::watch(slot_ptr done) {
  done_ = std::move(done);
  end_.stream = this;
  if (!done_->add_waiter(&end_))
    on_done(); // over already (failed at submission: an infeasible task)
}

void item_stream::begin_run() noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  run_index_ = 0;
}

bool item_stream::admit_next() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (over_ || abandoned_)
    throw task_cancelled_error("manta: the generator's stream was cancelled or dropped by "
                               "its caller; the producer stops at this yield");
  return run_index_++ >= delivered_;
}

void item_stream::push(slot_ptr item) {
  parker* wake = nullptr;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    items_.push_back(std::move(item));
    ++delivered_;
    wake = sleeper_;
  }
  if (wake != nullptr)
    wake->unpark();
}

void item_stream::on_done() noexcept {
  parker* wake = nullptr;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    over_ = true;
    wake = sleeper_;
  }
  if (wake != nullptr)
    wake->unpark();
}

void item_stream::abandon() noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  abandoned_ = true;
}

bool item_stream::finished() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return over_ && items_.empty() && (error_given_ || !done_->failed());
}

slot_ptr item_stream::next(clock::time_point deadline) {
  auto* t = this_task().task;
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    if (!items_.empty()) {
      auto item = std::move(items_.front());
      items_.pop_front();
      return item;
    }
    if (over_) {
      if (!done_->failed() || error_given_)
        return nullptr;
      // The producer's error, as the item at the position where it stopped.
      error_given_ = true;
      lock.unlock();
      auto& rt = runtime::require("object_ref_generator::next");
      auto slot = object_table::instance().create(rt.next_object_id());
      slot->seal_error(done_->error());
      return slot;
    }
    if (clock::now() >= deadline)
      return nullptr;
    if (t != nullptr && t->cancelled()) {
      lock.unlock();
      throw_if_cancelled(t);
    }
    auto& p = parker::this_thread();
    sleeper_ = &p;
    lock.unlock();
    {
      cpu_loan loan{t};
      // A push between the unlock and here makes the park return at once.
      p.park_until(deadline);
    }
    lock.lock();
    sleeper_ = nullptr;
  }
}

} // namespace manta::detail
