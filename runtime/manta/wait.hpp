#pragma once

#include "manta/get.hpp"
#include "manta/object_ref.hpp"

#include <chrono>
#include <type_traits>
#include <utility>
#include <vector>

namespace manta {

/// What `wait` returns: `ready` in completion order (at most num_returns),
/// `pending` the rest in their original order.
template <class T>
struct wait_result {
  std::vector<object_ref<T>> ready; ///< Refs whose values exist, in completion order.
  std::vector<object_ref<T>> pending; ///< The other refs, in their original order.
};

namespace detail {

/// Waits until `num_returns` of `slots` are sealed or the deadline passes.
/// Returns the indices of up to `num_returns` sealed slots, in the order they
/// were sealed.
std::vector<size_t> wait_slots(const std::vector<object_slot*>& slots, size_t num_returns,
                               clock::time_point deadline);

/// Moves `x` out of a container passed as an rvalue, copies it otherwise.
template <class Container, class U>
decltype(auto) element_from(U& x) {
  if constexpr (std::is_lvalue_reference_v<Container>)
    return static_cast<const U&>(x);
  else
    return std::move(x);
}

/// `Refs` is `std::vector<object_ref<T>>`, as an lvalue (the refs are
/// copied into the result) or an rvalue (they are moved: no reference
/// count touched, which matters when a loop waits on a long list).
template <class T, class Refs>
wait_result<T> wait(Refs&& refs, size_t num_returns, clock::time_point deadline) {
  std::vector<object_slot*> slots;
  slots.reserve(refs.size());
  for (auto& r : refs) {
    if (!r)
      throw invalid_argument_error("manta::wait: an object_ref in the list is empty");
    slots.push_back(r.slot().get());
  }
  auto ready = wait_slots(slots, num_returns, deadline);
  wait_result<T> out;
  std::vector<bool> taken(refs.size(), false);
  out.ready.reserve(ready.size());
  for (auto i : ready) {
    out.ready.push_back(element_from<Refs>(refs[i]));
    taken[i] = true;
  }
  out.pending.reserve(refs.size() - ready.size());
  for (size_t i = 0; i < refs.size(); ++i)
    if (!taken[i])
      out.pending.push_back(element_from<Refs>(refs[i]));
  return out;
}

} // namespace detail

/// Waits until `num_returns` of `refs` are ready (a value or an error),
/// without fetching them. Use it to process results in completion order:
/// `pending = manta::wait(std::move(pending), 1).pending;` moves the refs
/// instead of copying them.
template <class T>
wait_result<T> wait(const std::vector<object_ref<T>>& refs, size_t num_returns = 1) {
  return detail::wait<T>(refs, num_returns, detail::clock::time_point::max());
}
/// As above, for a list the caller gives away.
template <class T>
wait_result<T> wait(std::vector<object_ref<T>>&& refs, size_t num_returns = 1) {
  return detail::wait<T>(std::move(refs), num_returns, detail::clock::time_point::max());
}

/// Like `wait(refs, num_returns)`, but returns after `timeout` with whatever
/// is ready by then (possibly fewer than `num_returns`).
template <class T, class Rep, class Period>
wait_result<T> wait(const std::vector<object_ref<T>>& refs, size_t num_returns,
                    std::chrono::duration<Rep, Period> timeout) {
  return detail::wait<T>(refs, num_returns, detail::deadline_after(timeout));
}

template <class T, class Rep, class Period>
wait_result<T> wait(std::vector<object_ref<T>>&& refs, size_t num_returns,
                    std::chrono::duration<Rep, Period> timeout) { ///< Same, moving the list.
  return detail::wait<T>(std::move(refs), num_returns, detail::deadline_after(timeout));
}

} // namespace manta
