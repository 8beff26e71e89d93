#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::detail {

/// Bytes a value occupies in memory, counted for the store's accounting and
/// its memory budget: the object itself plus the heap buffers of strings,
/// vectors, maps and sets (nested ones included; tree and hash nodes are
/// counted with a typical allocator overhead). Other heap-owning types count
/// only their own size.
template <class T>
size_t value_size(const T& x);

// All overloads are declared before any is defined: the element calls in
// the container overloads must see each other (ADL does not look here).
template <class T>
size_t heap_size(const T&);
inline size_t heap_size(const std::string& x);
template <class T, class A>
size_t heap_size(const std::vector<T, A>& xs);
template <class T, size_t N>
size_t heap_size(const std::array<T, N>& xs);
template <class A, class B>
size_t heap_size(const std::pair<A, B>& x);
template <class K, class V, class C, class A>
size_t heap_size(const std::map<K, V, C, A>& xs);
template <class K, class C, class A>
size_t heap_size(const std::set<K, C, A>& xs);
template <class K, class V, class H, class E, class A>
size_t heap_size(const std::unordered_map<K, V, H, E, A>& xs);

/// Per-node bookkeeping of std::map/set (three pointers and a color) and of
/// std::unordered_map (a next pointer, a cached hash, a bucket slot).
inline constexpr size_t tree_node_overhead = 32;
inline constexpr size_t hash_node_overhead = 24;

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

template <class T, size_t N>
size_t heap_size(const std::array<T, N>& xs) {
  size_t n = 0;
  if constexpr (!std::is_trivially_copyable_v<T>)
    for (auto& x : xs)
      n += heap_size(x);
  return n;
}

template <class A, class B>
size_t heap_size(const std::pair<A, B>& x) {
  return heap_size(x.first) + heap_size(x.second);
}

template <class K, class V, class C, class A>
size_t heap_size(const std::map<K, V, C, A>& xs) {
  size_t n = xs.size() * (sizeof(std::pair<const K, V>) + tree_node_overhead);
  for (auto& x : xs)
    n += heap_size(x.first) + heap_size(x.second);
  return n;
}

template <class K, class C, class A>
size_t heap_size(const std::set<K, C, A>& xs) {
  size_t n = xs.size() * (sizeof(K) + tree_node_overhead);
  for (auto& x : xs)
    n += heap_size(x);
  return n;
}

template <class K, class V, class H, class E, class A>
size_t heap_size(const std::unordered_map<K, V, H, E, A>& xs) {
  size_t n = xs.size() * (sizeof(std::pair<const K, V>) + hash_node_overhead);
  for (auto& x : xs)
    n += heap_size(x.first) + heap_size(x.second);
  return n;
}

template <class T>
size_t value_size(const T& x) {
  return sizeof(T) + heap_size(x);
}

} // namespace manta::detail
