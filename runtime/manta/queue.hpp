#pragma once

#include "manta/actor.hpp"
#include "manta/errors.hpp"
#include "manta/get.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace manta {

/// Raised by `queue::get` when no item arrives in time (Ray's `Empty`).
class queue_empty_error : public error {
public:
  using error::error;
};

/// Raised by `queue::put` when no room frees up in time (Ray's `Full`).
class queue_full_error : public error {
public:
  using error::error;
};

namespace detail {

/// The actor behind `manta::queue`. It admits many calls at once, so a
/// `get` waiting for an item (on its own worker thread) does not keep a
/// `put` from running.
template <class T>
class queue_actor {
public:
  explicit queue_actor(int64_t maxsize) : maxsize_(maxsize) {}

  /// `timeout_ns` < 0: wait as long as it takes; 0: do not wait.
  bool put(T item, int64_t timeout_ns) {
    std::unique_lock<std::mutex> guard{mtx_};
    auto room = [&] { return maxsize_ <= 0 || static_cast<int64_t>(items_.size()) < maxsize_; };
    if (!wait(guard, timeout_ns, room, not_full_))
      return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> get(int64_t timeout_ns) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!wait(
          guard, timeout_ns, [&] { return !items_.empty(); }, not_empty_))
      return std::nullopt;
    std::optional<T> out{std::move(items_.front())};
    items_.pop_front();
    not_full_.notify_one();
    return out;
  }

  int64_t size() {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<int64_t>(items_.size());
  }

private:
  template <class F>
  static bool wait(std::unique_lock<std::mutex>& guard, int64_t timeout_ns, F ok,
                   std::condition_variable& cv) {
    if (timeout_ns < 0)
      cv.wait(guard, ok);
    else if (timeout_ns > 0)
      cv.wait_for(guard, std::chrono::nanoseconds{timeout_ns}, ok);
    return ok();
  }

  int64_t maxsize_;
  std::mutex mtx_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
};

template <class T>
bool register_queue_actor() {
  return register_actor<queue_actor<T>>("manta::queue", "&put, &get, &size", &queue_actor<T>::put,
                                        &queue_actor<T>::get, &queue_actor<T>::size);
}

} // namespace detail

/// A first-in first-out queue shared by tasks and actors, Ray's
/// `ray.util.queue.Queue`: it lives in an actor, and a `queue` is a handle
/// to it (copy it into tasks and actors). `maxsize` 0 means unbounded.
/// `put` and `get` block until they succeed, or throw `queue_full_error` /
/// `queue_empty_error` after their timeout; the `_nowait` forms do not
/// wait. Items from one caller are taken in the order it put them.
/// At most 1000 `get`/`put` calls wait at once (the actor's concurrency).
template <class T>
class queue {
public:
  /// A queue holding at most `maxsize` items (0: no limit).
  explicit queue(int64_t maxsize = 0) : maxsize_(maxsize) {
    static const bool registered = detail::register_queue_actor<T>();
    (void)registered;
    actor_ = actor<detail::queue_actor<T>>().max_concurrency(1000).remote(maxsize);
  }

  /// Adds `item`, waiting while the queue is full.
  void put(T item) { put_for(std::move(item), -1); }

  /// Adds `item`, waiting at most `timeout`; then throws `queue_full_error`.
  template <class Rep, class Period>
  void put(T item, std::chrono::duration<Rep, Period> timeout) {
    put_for(std::move(item), ns(timeout));
  }

  /// Adds `item` or throws `queue_full_error` at once.
  void put_nowait(T item) { put_for(std::move(item), 0); }

  /// Takes the oldest item, waiting while the queue is empty.
  T get() { return get_for(-1); }

  /// Takes the oldest item, waiting at most `timeout`; then throws `queue_empty_error`.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    return get_for(ns(timeout));
  }

  /// Takes the oldest item or throws `queue_empty_error` at once.
  T get_nowait() { return get_for(0); }

  /// Items in the queue right now.
  size_t size() const {
    return static_cast<size_t>(manta::get(actor_.call(&detail::queue_actor<T>::size).remote()));
  }

  /// Whether no item is in the queue right now.
  bool empty() const { return size() == 0; }

  /// Whether the queue holds `maxsize` items right now.
  bool full() const { return maxsize_ > 0 && static_cast<int64_t>(size()) >= maxsize_; }

  /// The limit given at construction (0: none).
  int64_t maxsize() const noexcept { return maxsize_; }

  /// The actor that holds the items (to pass the queue to tasks and actors).
  const actor_handle<detail::queue_actor<T>>& actor_handle_() const noexcept { return actor_; }

private:
  template <class Rep, class Period>
  static int64_t ns(std::chrono::duration<Rep, Period> d) {
    return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }

  void put_for(T item, int64_t timeout_ns) {
    if (!manta::get(actor_.call(&detail::queue_actor<T>::put).remote(std::move(item), timeout_ns)))
      throw queue_full_error("manta::queue::put: the queue is full (maxsize "
                             + std::to_string(maxsize_)
                             + ") and no room freed up in time; get items or raise maxsize");
  }

  T get_for(int64_t timeout_ns) {
    auto item = manta::get(actor_.call(&detail::queue_actor<T>::get).remote(timeout_ns));
    if (!item)
      throw queue_empty_error("manta::queue::get: the queue is empty and no item arrived "
                              "in time; put items first or wait longer");
    return std::move(*item);
  }

  int64_t maxsize_;
  actor_handle<detail::queue_actor<T>> actor_;
};

} // namespace manta
