#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace manta::detail {

/// Bytes a value occupies in memory, counted for the store's accounting:
/// the object itself plus the heap buffers of strings and vectors (nested
/// ones included). Other heap-owning types count only their own size.
template <class T>
size_t value_size(const T& x);

template <class T>
size_t heap_size(const T&) {
  return 0;
}

inline size_t heap_size(const std::string& x) {
  return x.capacity() > 15 ? x.capacity() : 0;
}

template <class T, class A>
size_t heap_size(const std::vector<T, A>& xs) {
  size_t n = xs.capacity() * sizeof(T);
  if constexpr (!std::is_trivially_copyable_v<T>)
    for (auto& x : xs)
      n += heap_size(x);
  return n;
}

template <class T>
size_t value_size(const T& x) {
  return sizeof(T) + heap_size(x);
}

} // namespace manta::detail
