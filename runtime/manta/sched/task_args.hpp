#pragma once

#include "manta/object_ref.hpp"

#include <type_traits>
#include <utility>

namespace manta {

template <class T>
class generator_sink;

} // namespace manta

namespace manta::detail {

/// Whether parameter type `P` is a `generator_sink<U>&`: the first
/// parameter of a streaming generator (generator.hpp), given by the
/// runtime, not by the caller.
template <class P>
struct sink_param : std::false_type {};

template <class U>
struct sink_param<generator_sink<U>&> : std::true_type {
  using item_type = U;
};

/// An argument given by value: converted to the parameter's type when the
/// task is submitted and kept for retries.
template <class V>
struct value_arg {
  // Not for a value_arg itself: copying one stays a copy.
  template <class A, class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<A>, value_arg>>>
  explicit value_arg(A&& x) : value(std::forward<A>(x)) {}
  V value;
  const V& get() const noexcept { return value; }
  /// Lets go of what the value owns once the task or call will not run
  /// again (task_spec::release_args): a large vector is freed, a ref in
  /// it dropped, before the result wakes the caller. A value that owns
  /// nothing, or cannot be emptied without a throw, stays.
  void release() noexcept {
    if constexpr (!std::is_trivially_destructible_v<V> && std::is_nothrow_default_constructible_v<V>
                  && std::is_nothrow_move_assignable_v<V>)
      value = V{};
  }
};

/// An argument given as an object_ref: read from the store when the task
/// runs, by const reference, so a `const T&` parameter sees the shared value
/// without a copy. The ref keeps the object alive while the task is queued
/// or running (borrowing), until its last run ended (`release`); the pin
/// keeps a spillable value in memory (and restores it if it was spilled)
/// from `get` until `unpin`.
template <class U>
struct ref_arg {
  explicit ref_arg(object_ref<U> x) : ref(std::move(x)) {}
  object_ref<U> ref;
  mutable value_pin pin;
  const U& get() const {
    pin.reset(*ref.slot());
    return ref.slot()->template as<U>();
  }
  void unpin() const noexcept { pin.release(); }
  /// Drops the ref once the task or call will not run again
  /// (task_spec::release_args): the object may go with it.
  void release() noexcept {
    pin.release();
    ref = {};
  }
};

/// Lets go of a held argument (`release` above); a generator's sink stays
/// (the producer's result, sealed after this, ends its stream).
template <class H>
void release_arg(H& h) noexcept {
  if constexpr (requires { h.release(); })
    h.release();
}

template <class P, class A>
struct arg_holder {
  using type = value_arg<std::decay_t<P>>;
};

template <class P, class U>
struct arg_holder<P, object_ref<U>> {
  using type = ref_arg<U>;
};

/// A ref given for a parameter of type `object_ref<U>` is passed as it is,
/// unresolved (Ray's ref inside a value): the task gets the ref, starts
/// without waiting for its object, and may `get` it, pass it on or keep it.
template <class U>
struct arg_holder<object_ref<U>, object_ref<U>> {
  using type = value_arg<object_ref<U>>;
};

template <class U>
struct arg_holder<const object_ref<U>&, object_ref<U>> {
  using type = value_arg<object_ref<U>>;
};

/// How a call argument of type `A` is kept for a parameter of type `P`.
template <class P, class A>
using arg_holder_t = typename arg_holder<P, std::decay_t<A>>::type;

/// Whether a call argument of type `A` may be passed for parameter `P`:
/// directly convertible, or an object_ref whose value converts.
template <class P, class A>
constexpr bool arg_compatible() {
  using D = std::decay_t<A>;
  if constexpr (std::is_same_v<std::decay_t<P>, D>)
    return true; // an object_ref<T> parameter takes the ref itself
  else if constexpr (is_object_ref<D>::value)
    return std::is_convertible_v<const typename D::value_type&, P>;
  else
    return std::is_constructible_v<std::decay_t<P>, A>;
}

/// Whether a parameter type can be fed from a stored, immutable argument.
template <class P>
constexpr bool param_supported() {
  return !std::is_reference_v<P> || sink_param<P>::value
         || std::is_const_v<std::remove_reference_t<P>>;
}

} // namespace manta::detail
