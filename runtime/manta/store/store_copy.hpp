#pragma once

#include "manta/store/buffer_pool.hpp"
#include "manta/store/copy_lanes.hpp"

#include <cstddef>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace manta::detail {

/// Fresh buffers at least this large for decoded values are mapped in one
/// call (`populate_pages`) before they are written.
inline constexpr size_t huge_copy_bytes = size_t{32} << 20;

/// Asks the kernel to back [data, data + bytes) with transparent huge pages
/// when it first touches them (madvise MADV_HUGEPAGE on the whole pages
/// inside). A no-op where the kernel does not support it.
void advise_huge_pages(void* data, size_t bytes) noexcept;

/// Maps every page of [data, data + bytes) now, in one system call
/// (MADV_POPULATE_WRITE), instead of one page fault per 4 KiB page as the
/// buffer is first written: 1.8 -> 2.6 GB/s for a fresh 256 MiB buffer on
/// this project's virtual machines. A no-op where the kernel lacks it.
void populate_pages(void* data, size_t bytes) noexcept;

class object_store;

/// `store`'s buffer pool, and a reference to `store` taken and let go: out
/// of line, so that `put`'s users do not include the whole store.
buffer_pool& pool_of(object_store& store) noexcept;
void retain_store(object_store& store) noexcept;
void release_store(object_store& store) noexcept;

/// Copies `bytes` bytes from `src` to `dst` with `store`'s copy lanes
/// (copy_lanes.hpp: several threads for a large copy).
void copy_in_lanes(object_store& store, void* dst, const void* src, size_t bytes) noexcept;

template <class V>
struct is_trivial_vector : std::false_type {};

template <class E, class A>
struct is_trivial_vector<std::vector<E, A>>
  : std::bool_constant<std::is_trivially_copyable_v<E> && !std::is_same_v<E, bool>> {};

/// Copies of vectors at least this large go through the buffer pool: below
/// it, malloc's own free lists already hand back mapped memory.
inline constexpr size_t pooled_copy_bytes = size_t{1} << 20;

/// Deleter of a pooled copy: hands its buffer to its store's pool (which
/// keeps it or frees it, buffer_pool.hpp). Holds a reference to the store
/// (taken by `pooled_copy`), let go once the buffer is handed over: a copy
/// read past `shutdown` still finds its store.
template <class V>
struct return_to_pool {
  object_store* store;

  void operator()(const V* v) const noexcept {
    pool_of(*store).give({const_cast<V*>(v), [](void* p) noexcept { delete static_cast<V*>(p); },
                          &typeid(V), v->capacity() * sizeof(typename V::value_type)});
    release_store(*store);
  }
};

/// Readies fresh memory for a store copy of `bytes` bytes: every page
/// mapped in one call (`populate_pages`) before the copy writes it, in
/// 4 KiB pages. On this project's virtual machines memory fresh from the
/// kernel (given back to the host while free) cost 1.0-1.9 s per 800 MB in
/// 4 KiB pages and 6-13 s in huge pages, faulted or mapped in advance alike
/// (each 2 MiB page is zeroed while the host backs it): a put with no kept
/// buffer took 7.7-12.6 s advised for huge pages. Reused buffers copy at
/// memcpy speed either way (docs/performance.md).
void prepare_fresh_copy(void* data, size_t bytes) noexcept;

/// Fresh copy buffers `prepare_fresh_copy` has readied since the process
/// started.
uint64_t fresh_copies() noexcept;

/// `store`'s copy of a large vector of trivially copyable elements: into a
/// kept buffer of the same type and about the same size when its pool has
/// one (its pages already mapped), else into fresh memory readied by
/// `prepare_fresh_copy`. Either way the buffer goes back to the pool when
/// the copy's last reader lets go.
///
/// A value large enough to split (`copy_lanes::split_bytes`) whose kept
/// buffer still holds at least as many elements (the usual case: the last
/// value of that size) is cut to size, which writes nothing, and copied in
/// lanes (`copy_in_lanes`). Other copies are made by `assign`, one thread:
/// growing a vector first would write every new element twice (zeros,
/// then the value), costing more than the lanes gain.
template <class V>
std::shared_ptr<const V> pooled_copy(object_store& store, const V& value) {
  size_t bytes = value.size() * sizeof(typename V::value_type);
  auto* copy = static_cast<V*>(pool_of(store).take(typeid(V), bytes));
  if (copy == nullptr) {
    auto fresh = std::make_unique<V>(value.get_allocator());
    fresh->reserve(value.size()); // fresh, untouched memory
    prepare_fresh_copy(fresh->data(), bytes);
    copy = fresh.release();
  }
  if (bytes >= copy_lanes::split_bytes && copy->size() >= value.size()) {
    copy->resize(value.size()); // shrinks: no element written
    copy_in_lanes(store, copy->data(), value.data(), bytes);
  } else {
    copy->assign(value.begin(), value.end()); // within capacity: no allocation
  }
  retain_store(store);
  return std::shared_ptr<const V>(copy, return_to_pool<V>{&store});
}

/// `store`'s own copy of a value `put` received: moved if it is an rvalue,
/// copied otherwise; a large vector of trivially copyable elements is
/// copied by `pooled_copy`.
template <class V, class T>
std::shared_ptr<const V> store_copy(object_store& store, T&& value) {
  if constexpr (is_trivial_vector<V>::value && std::is_lvalue_reference_v<T>) {
    if (value.size() * sizeof(typename V::value_type) >= pooled_copy_bytes)
      return pooled_copy<V>(store, value);
  }
  return std::make_shared<const V>(std::forward<T>(value));
}

} // namespace manta::detail
