#include "manta/detail/completion_queue.hpp"

#include "manta/detail/blocking.hpp"
#include "manta/detail/parker.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/worker_pool.hpp"

#include <algorithm>

namespace manta::detail {

completion_queue::completion_queue(std::vector<object_slot*> slots)
  : slots_(std::move(slots)), entries_(std::make_unique<entry[]>(slots_.size())) {
  runtime::require("as_completed");
  ready_.reserve(slots_.size());
  std::vector<size_t> sealed;
  for (size_t i = 0; i < slots_.size(); ++i) {
    entries_[i].queue = this;
    entries_[i].index = i;
    if (!slots_[i]->add_waiter(&entries_[i]))
      sealed.push_back(i);
  }
  std::sort(sealed.begin(), sealed.end(), [&](size_t x, size_t y) {
    return slots_[x]->seal_seq() < slots_[y]->seal_seq();
  });
  for (auto i : sealed)
    push(i);
}

completion_queue::~completion_queue() {
  // Under each slot's lock: a seal telling entry i is done before it dies.
  for (size_t i = 0; i < slots_.size(); ++i)
    slots_[i]->remove_waiter(&entries_[i]);
}

void completion_queue::push(size_t index) noexcept {
  parker* wake = nullptr;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ready_.push_back(index);
    wake = sleeper_;
  }
  if (wake != nullptr)
    wake->unpark();
}

std::optional<size_t> completion_queue::next(clock::time_point deadline) {
  auto* t = this_task().task;
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    if (read_ < ready_.size())
      return ready_[read_++];
    if (read_ == slots_.size() || clock::now() >= deadline)
      return std::nullopt;
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

size_t completion_queue::remaining() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return slots_.size() - read_;
}

} // namespace manta::detail
