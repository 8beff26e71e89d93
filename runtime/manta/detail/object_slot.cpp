#include "manta/detail/object_slot.hpp"

#include "manta/detail/object_table.hpp"

#include <algorithm>

namespace manta::detail {

namespace {

std::atomic<uint64_t> seal_counter{0};

} // namespace

object_slot::object_slot(object_id id, std::weak_ptr<task_spec> producer)
  : id_(id), producer_(std::move(producer)) {
  // nop
}

object_slot::~object_slot() {
  object_table::instance().erase(id_, size_bytes_);
}

template <class F>
bool object_slot::seal(uint8_t state, F&& store) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_.load(std::memory_order_relaxed) != pending)
    return false;
  store();
  seal_seq_ = seal_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  state_.store(state, std::memory_order_release);
  // Tell waiters under the lock: a waiter that removes itself concurrently
  // (a timed-out get) must not be told after it has returned.
  for (auto* w : waiters_)
    w->on_ready();
  waiters_.clear();
  waiters_.shrink_to_fit();
  return true;
}

bool object_slot::seal_value(std::shared_ptr<const void> value,
                             const std::type_info& type, size_t size_bytes) {
  return seal(ready_state, [&] {
    value_ = std::move(value);
    type_ = &type;
    size_bytes_ = size_bytes;
    object_table::instance().account(size_bytes);
  });
}

bool object_slot::seal_error(std::exception_ptr error) {
  return seal(failed_state, [&] { error_ = std::move(error); });
}

bool object_slot::add_waiter(waiter* w) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_.load(std::memory_order_relaxed) != pending)
    return false;
  waiters_.push_back(w);
  return true;
}

void object_slot::remove_waiter(waiter* w) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = std::find(waiters_.begin(), waiters_.end(), w);
  if (i != waiters_.end())
    waiters_.erase(i);
}

} // namespace manta::detail
