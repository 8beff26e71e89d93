#pragma once

#include "manta/core/codec.hpp"
#include "manta/store/store_copy.hpp"
#include "manta/store/value_size.hpp"
#include "manta/object_ref.hpp"

#include <memory>
#include <source_location>
#include <type_traits>
#include <typeinfo>

namespace manta {

namespace detail {

/// The running runtime's store, for `put`; throws `not_initialized_error`
/// without one.
object_store& put_store();

/// Stores a sealed value under a new id and returns its slot. Makes room
/// within the node's memory budget first (spilling other objects) or throws
/// `object_store_full_error`.
slot_ptr put_value(std::shared_ptr<const void> value, const std::type_info& type, size_t size_bytes,
                   const value_codec* codec, const std::source_location& origin);

} // namespace detail

/// Stores a value in the object store and returns a ref to it. An lvalue is
/// copied once into the store; `put(std::move(x))` moves it (O(1) for
/// containers). Every ref and every task that reads it then shares that one
/// immutable copy. Large values of serializable types (std containers,
/// strings, arithmetic types, types with an `inspect` overload) may be
/// spilled to disk when the node's memory budget runs out and are read back
/// transparently. Throws `object_store_full_error` when the value does not
/// fit and nothing can be spilled.
template <class T>
object_ref<std::decay_t<T>> put(T&& value,
                                std::source_location origin = std::source_location::current()) {
  using V = std::decay_t<T>;
  static_assert(!is_object_ref_v<V>, "manta::put: the value is already an object_ref");
  auto ptr = detail::store_copy<V>(detail::put_store(), std::forward<T>(value));
  auto bytes = detail::value_size(*ptr);
  return object_ref<V>{
    detail::put_value(std::move(ptr), typeid(V), bytes, detail::codec_for<V>(), origin)};
}

/// Stores a value that is already shared, without any copy. The store
/// cannot spill it while the caller keeps its own shared_ptr.
template <class T>
object_ref<T> put(std::shared_ptr<const T> value,
                  std::source_location origin = std::source_location::current()) {
  auto bytes = detail::value_size(*value);
  return object_ref<T>{
    detail::put_value(std::move(value), typeid(T), bytes, detail::codec_for<T>(), origin)};
}

} // namespace manta
