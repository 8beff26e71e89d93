#pragma once

#include "manta/actor.hpp"
#include "manta/errors.hpp"
#include "manta/get.hpp"
#include "manta/wait.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <type_traits>
#include <utility>
#include <vector>

namespace manta {

/// Spreads work over a fixed set of actors, Ray's `ActorPool`: each actor
/// has at most one piece of work at a time, and a piece goes to an idle
/// actor, or waits until one becomes idle, so a slow actor is not handed
/// more than it can do.
///
///     manta::actor_pool<worker> pool{{w1, w2, w3}};
///     auto doubled = pool.map([](auto& a, int x) { return a.call(&worker::twice).remote(x); },
///                             std::vector{1, 2, 3, 4});
///
/// `fn(actor, value)` submits one call and returns its `object_ref`. Not
/// thread-safe: use a pool from one thread, like Ray's.
template <class T>
class actor_pool {
public:
  explicit actor_pool(std::vector<actor_handle<T>> actors)
    : idle_(actors.begin(), actors.end()) { ///< A pool of `actors` (not empty).
    if (idle_.empty())
      throw invalid_argument_error("manta::actor_pool: needs at least one actor");
  }

  /// Submits `fn(actor, value)` to an idle actor, or queues it until one is.
  template <class F, class V>
  void submit(F fn, V value) {
    pending_.push_back([fn = std::move(fn), value = std::move(value)](actor_handle<T>& a) {
      return fn(a, value).slot();
    });
    dispatch();
  }

  /// True while some submitted work has not been returned by `get_next*`.
  bool has_next() const noexcept { return !futures_.empty() || !pending_.empty(); }

  /// The result of the oldest work not returned yet, in submission order.
  /// Throws `get_timeout_error` after `timeout` (the result stays pending)
  /// and the work's own error if it failed.
  template <class R, class Rep = double, class Period = std::ratio<1>>
  R get_next(
    std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max()) {
    if (futures_.empty())
      throw error("manta::actor_pool::get_next: no work is pending; submit some first");
    auto i = futures_.find(next_return_);
    object_ref<R> ref{i->second.first};
    wait_or_throw(ref, timeout);
    ++next_return_;
    return take<R>(i);
  }

  /// The result of whichever pending work finishes first.
  template <class R, class Rep = double, class Period = std::ratio<1>>
  R get_next_unordered(
    std::chrono::duration<Rep, Period> timeout = std::chrono::duration<Rep, Period>::max()) {
    if (futures_.empty())
      throw error("manta::actor_pool::get_next_unordered: no work is pending");
    std::vector<object_ref<R>> refs;
    std::vector<size_t> keys;
    for (auto& [k, f] : futures_) {
      refs.push_back(object_ref<R>{f.first});
      keys.push_back(k);
    }
    auto ready = timeout == std::chrono::duration<Rep, Period>::max() ? wait(refs, 1)
                                                                      : wait(refs, 1, timeout);
    if (ready.ready.empty())
      throw get_timeout_error("manta::actor_pool::get_next_unordered: nothing finished "
                              "within the timeout");
    size_t pos = 0;
    while (!(refs[pos] == ready.ready.front()))
      ++pos;
    return take<R>(futures_.find(keys[pos]));
  }

  /// Applies `fn` to every value; returns the results in input order.
  template <class F, class V>
  auto map(F fn, const std::vector<V>& values) {
    return map_with(fn, values, [this]<class R>() { return get_next<R>(); });
  }

  /// Like `map`, but returns results as they finish.
  template <class F, class V>
  auto map_unordered(F fn, const std::vector<V>& values) {
    return map_with(fn, values, [this]<class R>() { return get_next_unordered<R>(); });
  }

  /// Actors without work right now.
  size_t num_idle() const noexcept { return idle_.size(); }

private:
  using job = std::function<detail::slot_ptr(actor_handle<T>&)>;
  using future_map = std::map<size_t, std::pair<detail::slot_ptr, actor_handle<T>>>;

  /// Submits `fn` for every value, then collects each result with `next`
  /// (called as `next.template operator()<R>()`).
  template <class F, class V, class Next>
  auto map_with(F& fn, const std::vector<V>& values, Next next) {
    using R = typename std::invoke_result_t<F&, actor_handle<T>&, const V&>::value_type;
    for (auto& v : values)
      submit(fn, v);
    std::vector<R> out;
    out.reserve(values.size());
    while (has_next())
      out.push_back(next.template operator()<R>());
    return out;
  }

  void dispatch() {
    while (!pending_.empty() && !idle_.empty()) {
      auto a = std::move(idle_.front());
      idle_.pop_front();
      auto slot = pending_.front()(a);
      pending_.pop_front();
      futures_.emplace(next_index_++, std::make_pair(std::move(slot), std::move(a)));
    }
  }

  template <class R, class D>
  static void wait_or_throw(const object_ref<R>& ref, D timeout) {
    if (timeout == D::max()) {
      wait(std::vector<object_ref<R>>{ref}, 1);
    } else if (wait(std::vector<object_ref<R>>{ref}, 1, timeout).ready.empty()) {
      throw get_timeout_error("manta::actor_pool::get_next: the next result did not "
                              "arrive within the timeout");
    }
  }

  /// Returns the actor to the pool (it may take queued work), then the
  /// value or the error.
  template <class R>
  R take(typename future_map::iterator i) {
    object_ref<R> ref{i->second.first};
    idle_.push_back(std::move(i->second.second));
    futures_.erase(i);
    dispatch();
    return manta::get(ref);
  }

  std::deque<actor_handle<T>> idle_;
  std::deque<job> pending_;
  future_map futures_;
  size_t next_index_ = 0;
  size_t next_return_ = 0;
};

} // namespace manta
