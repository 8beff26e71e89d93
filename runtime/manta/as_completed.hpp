#pragma once

#include "manta/sched/completion_queue.hpp"
#include "manta/errors.hpp"
#include "manta/get.hpp"
#include "manta/object_ref.hpp"
#include "manta/sched/next_iterator.hpp"

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace manta {

/// Refs handed out in the order their values (or errors) come in, each
/// once: what `as_completed(refs)` returns. Draining n refs costs O(n) in
/// all, where a loop of `wait(pending, 1)` costs O(n^2) (in Ray too):
///
///     for (auto& ref : manta::as_completed(std::move(refs)))
///       process(manta::get(ref)); // ready: get returns at once
///
/// It keeps the refs (and so their objects) alive until it is destroyed.
template <class T>
class completed_refs {
public:
  /// Takes the refs to watch; an empty ref is an invalid_argument_error.
  explicit completed_refs(std::vector<object_ref<T>> refs) : refs_(std::move(refs)) {
    std::vector<detail::object_slot*> slots;
    slots.reserve(refs_.size());
    for (auto& r : refs_) {
      if (!r)
        throw invalid_argument_error("manta::as_completed: an object_ref in the list is empty");
      slots.push_back(r.slot().get());
    }
    queue_ = std::make_unique<detail::completion_queue>(std::move(slots));
  }

  /// The next ref whose value is in, waiting as long as it takes; nullopt
  /// once every ref was handed out.
  std::optional<object_ref<T>> next() { return take(detail::clock::time_point::max()); }

  /// Like `next()`, waiting at most `timeout`: nullopt when none came in by
  /// then (or none is left: `remaining()` tells which).
  template <class Rep, class Period>
  std::optional<object_ref<T>> next(std::chrono::duration<Rep, Period> timeout) {
    return take(detail::deadline_after(timeout));
  }

  /// Refs not handed out yet.
  size_t remaining() const { return queue_->remaining(); }

  /// Reads the refs in completion order with a range-for; each step blocks
  /// until the next ref is ready.
  using iterator = detail::next_iterator<completed_refs, object_ref<T>>;

  iterator begin() { return iterator{this}; } ///< Waits for the first ready ref.
  iterator end() { return {}; } ///< Past the last ref.

private:
  std::optional<object_ref<T>> take(detail::clock::time_point deadline) {
    auto i = queue_->next(deadline);
    if (!i)
      return std::nullopt;
    return refs_[*i];
  }

  std::vector<object_ref<T>> refs_;
  // Declared after refs_, destroyed before them: it unregisters from their slots.
  std::unique_ptr<detail::completion_queue> queue_;
};

/// Hands out `refs` in the order they complete (a value or an error), at a
/// constant cost per ref: the way to drain a long list, where a loop of
/// `wait(pending, 1)` is quadratic. Pass the list as an rvalue to avoid
/// copying the refs.
template <class T>
completed_refs<T> as_completed(std::vector<object_ref<T>> refs) {
  return completed_refs<T>{std::move(refs)};
}

} // namespace manta
