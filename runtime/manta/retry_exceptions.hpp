#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace manta {

/// A list of exception types as a value, for
/// `task(f).retry_exceptions(manta::exceptions<std::runtime_error, my_error>{})`
/// (the same as `.retry_exceptions<std::runtime_error, my_error>()`, handy
/// where a member template would need the `template` keyword).
template <class... Es>
struct exceptions {};

namespace detail {

/// Whether an exception is of the type a matcher was made for, or derives
/// from it (the same test as a `catch (const E&)`).
using exception_matcher = bool (*)(const std::exception_ptr&);

/// Registers the matcher of the type named `key` (its mangled name, the
/// same in every process of one binary: a worker node finds the types a
/// driver listed by this key). Returns `key`.
const char* register_exception_type(const char* key, exception_matcher match);

/// Whether `e` is of a type registered under one of `keys`.
bool matches_exception_type(const std::vector<std::string>& keys, const std::exception_ptr& e);

/// Whether a retry policy (`retry_exceptions(all)` or the listed `types`)
/// covers `e`. Never for Manta's own errors (a failed argument, a
/// cancel): re-running the code would meet them again.
bool retry_covers(bool all, const std::vector<std::string>& types, const std::exception_ptr& e);

template <class E>
bool exception_is(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
}

/// Registers `E` when the program starts, in every process of the binary
/// (a worker node never runs the driver's code that names `E`).
template <class E>
struct exception_type_key {
  static inline const char* const key = register_exception_type(typeid(E).name(), &exception_is<E>);
};

/// The keys of `Es`, registered (again: static initialization order is not
/// guaranteed when a retry is set up from a static initializer).
template <class... Es>
std::vector<std::string> exception_keys() {
  static_assert(sizeof...(Es) > 0, "manta: retry_exceptions<...>() needs at least one type");
  static_assert((!std::is_reference_v<Es> && ...),
                "manta: retry_exceptions<...>() takes exception types, not references");
  ((void)exception_type_key<Es>::key, ...);
  return {register_exception_type(typeid(Es).name(), &exception_is<Es>)...};
}

} // namespace detail

} // namespace manta
