#pragma once

#include "manta/detail/function_registry.hpp"

#include <cstring>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>
#include <vector>

namespace manta {
template <class R>
class async;
} // namespace manta

namespace manta::detail {

template <class R>
struct is_async : std::false_type {};

template <class R>
struct is_async<manta::async<R>> : std::true_type {};

/// One method named in `MANTA_ACTOR`. Member function pointers cannot be
/// cast to `void*`, so the pointer is kept as its bytes next to its type:
/// two pointers to the same member compare equal byte-wise (Itanium ABI).
struct method_info {
  std::string name;
  const std::type_info* type = nullptr;
  std::string bytes;
};

/// What the runtime knows about a class marked with `MANTA_ACTOR`.
struct actor_class_info {
  std::string name;
  /// True if some method returns `manta::async<R>`: the actor then runs its
  /// calls as coroutines on one event loop and admits 1000 calls at once by
  /// default (Ray's rule for async actors).
  bool is_async = false;
  std::vector<method_info> methods;
};

void register_actor_class(const std::type_info& cls, std::string name, bool is_async,
                          std::vector<method_info> methods);

/// The class's entry, or throws `unknown_function_error` naming the fix.
const actor_class_info& lookup_actor_class(const std::type_info& cls);

/// The registered name of a method, or throws `unknown_function_error`
/// naming the fix (add it to `MANTA_ACTOR`).
const std::string& lookup_method(const actor_class_info& cls, const std::type_info& type,
                                 const void* bytes, size_t size);

template <class M>
method_info make_method_info(std::string name, M m) {
  method_info out{std::move(name), &typeid(M), std::string(sizeof(M), '\0')};
  std::memcpy(out.bytes.data(), &m, sizeof(M));
  return out;
}

template <class M>
struct method_traits;

template <class T, class R, class... Ps>
struct method_traits<R (T::*)(Ps...)> {
  using result = R;
};

template <class T, class R, class... Ps>
struct method_traits<R (T::*)(Ps...) const> {
  using result = R;
};

/// Splits "&counter::incr, &counter::get" and registers each method under
/// its bare name ("incr", "get").
template <class T, class... Ms>
bool register_actor(const char* cls_name, const char* names, Ms... ms) {
  std::string_view all{names};
  auto next_name = [&all] {
    auto comma = all.find(',');
    auto name = all.substr(0, comma);
    all = comma == std::string_view::npos ? std::string_view{} : all.substr(comma + 1);
    while (!name.empty() && (name.front() == ' ' || name.front() == '&'))
      name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ')
      name.remove_suffix(1);
    if (auto colons = name.rfind("::"); colons != std::string_view::npos)
      name.remove_prefix(colons + 2);
    return std::string{name};
  };
  std::vector<method_info> methods;
  (methods.push_back(make_method_info(next_name(), ms)), ...);
  constexpr bool any_async = (is_async<typename method_traits<Ms>::result>::value || ...);
  register_actor_class(typeid(T), cls_name, any_async, std::move(methods));
  return true;
}

} // namespace manta::detail

/// Marks a class as an actor class and registers the methods callable on
/// it: `MANTA_ACTOR(counter, &counter::incr, &counter::get);` at namespace
/// scope. Only listed methods can be called with `handle.call(&T::m)`.
#define MANTA_ACTOR(cls, ...)                                                  \
  [[maybe_unused]] static const bool MANTA_PP_CAT(manta_actor_, __COUNTER__) = \
    ::manta::detail::register_actor<cls>(#cls, #__VA_ARGS__ __VA_OPT__(, ) __VA_ARGS__)
