#pragma once

#include "manta/detail/value_size.hpp"
#include "manta/object_ref.hpp"

#include <memory>
#include <type_traits>
#include <typeinfo>

namespace manta {

namespace detail {

/// Stores a sealed value under a new id and returns its slot.
slot_ptr put_value(std::shared_ptr<const void> value, const std::type_info& type,
                   size_t size_bytes);

} // namespace detail

/// Stores a value in the object store and returns a ref to it. An lvalue is
/// copied once into the store; `put(std::move(x))` moves it (O(1) for
/// containers). Every ref and every task that reads it then shares that one
/// immutable copy.
template <class T>
object_ref<std::decay_t<T>> put(T&& value) {
  using V = std::decay_t<T>;
  static_assert(!is_object_ref_v<V>, "manta::put: the value is already an object_ref");
  auto ptr = std::make_shared<const V>(std::forward<T>(value));
  auto bytes = detail::value_size(*ptr);
  return object_ref<V>{detail::put_value(std::move(ptr), typeid(V), bytes)};
}

/// Stores a value that is already shared, without any copy.
template <class T>
object_ref<T> put(std::shared_ptr<const T> value) {
  auto bytes = detail::value_size(*value);
  return object_ref<T>{detail::put_value(std::move(value), typeid(T), bytes)};
}

} // namespace manta
