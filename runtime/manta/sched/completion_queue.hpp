#pragma once

#include "manta/store/object_slot.hpp"
#include "manta/sched/ready_wait.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace manta::detail {

/// Hands out the positions of a fixed list of objects in the order they are
/// sealed, each once: the engine of `manta::as_completed`. Every object gets
/// a waiter of its own that appends its position when it is sealed, so
/// draining n objects costs O(n) in all. A loop of `wait(pending, 1)` costs
/// O(n^2): each call looks at, and copies, every pending ref.
///
/// Objects sealed before the queue is made come first, in the order they
/// were sealed; the rest in the order their seals told the queue.
class completion_queue {
public:
  using clock = std::chrono::steady_clock;

  /// `slots` must stay alive as long as the queue (the caller keeps the refs).
  explicit completion_queue(std::vector<object_slot*> slots);
  ~completion_queue();
  completion_queue(const completion_queue&) = delete;
  completion_queue& operator=(const completion_queue&) = delete;

  /// The position of the next sealed object, blocking until one is sealed
  /// or `deadline` passes (nullopt then, or at once when none is left). A
  /// task blocked here lends its CPUs like one blocked in `get`, and stops
  /// with task_cancelled_error if it is cancelled.
  std::optional<size_t> next(clock::time_point deadline);

  /// Objects not handed out yet.
  size_t remaining() const;

private:
  /// Tells the queue that the object at `index` was sealed.
  struct entry final : waiter {
    completion_queue* queue = nullptr;
    size_t index = 0;
    void on_ready() noexcept override { queue->push(index); }
  };

  void push(size_t index) noexcept;

  std::vector<object_slot*> slots_;
  std::unique_ptr<entry[]> entries_;
  ready_wait wait_; // guards ready_ and read_
  std::vector<size_t> ready_; // sealed, in the order the queue learned it
  size_t read_ = 0; // ready_[0, read_) were handed out
};

} // namespace manta::detail
