#pragma once

#include "manta/sched/function_registry.hpp"

#include <cstring>
#include <map>
#include <memory>
#include <span>
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

class actor_call;
class actor_ctor;
struct method_info;

/// Encoded arguments of a call or constructor another node sent.
using wire_args = std::vector<std::span<const char>>;

/// Builds a call of a method from encoded arguments (how a node runs a
/// call that an actor's owner on another node sent). Throws
/// `std::runtime_error` for arguments that do not decode.
using call_factory = std::shared_ptr<actor_call> (*)(const method_info& m, const wire_args& args);

/// Builds a constructor from encoded arguments (how a node creates an actor
/// whose owner is on another node).
using ctor_factory = std::unique_ptr<actor_ctor> (*)(const wire_args& args);

template <class R>
struct is_async : std::false_type {};

template <class R>
struct is_async<manta::async<R>> : std::true_type {};

/// What `get` on a call's ref yields: `R`, or `V` for `async<V>`.
template <class R>
struct call_result {
  using type = R;
};

template <class R>
struct call_result<manta::async<R>> {
  using type = R;
};

/// One method named in `MANTA_ACTOR`. Member function pointers cannot be
/// cast to `void*`, so the pointer is kept as its bytes next to its type:
/// two pointers to the same member compare equal byte-wise (Itanium ABI).
struct method_info {
  std::string name;
  const std::type_info* type = nullptr;
  std::string bytes;
  /// Null if a parameter or the result cannot cross nodes.
  call_factory from_wire = nullptr;
  /// The layouts of its parameter and result types (`async<R>`: of `R`).
  layout_fn layout = nullptr;
};

/// What the runtime knows about a class marked with `MANTA_ACTOR`.
struct actor_class_info {
  std::string name;
  const std::type_info* type = nullptr;
  /// True if some method returns `manta::async<R>`: the actor then runs its
  /// calls as coroutines on one event loop and admits 1000 calls at once by
  /// default (Ray's rule for async actors).
  bool is_async = false;
  std::vector<method_info> methods;
  /// Constructors another node may ask for, by `constructor_key`. Filled by
  /// the first `actor<T>().remote(args...)` of each argument list this
  /// binary compiles (so every process running the binary has the same).
  std::map<std::string, ctor_factory, std::less<>> ctors;
  /// Their layouts (and the argument types' names), by the same keys.
  std::map<std::string, std::pair<layout_fn, std::string>, std::less<>> ctor_layouts;
  /// The job library it came from (code_loader.hpp), "" for this program's
  /// own classes.
  std::string library;
};

void register_actor_class(const std::type_info& cls, std::string name, bool is_async,
                          std::vector<method_info> methods);

/// Registers a constructor that other nodes may ask for by `key`.
/// `layout` and `arg_names` ("int, point") describe its parameters for the
/// build fingerprint.
bool register_actor_ctor(const std::type_info& cls, const char* key, ctor_factory f,
                         layout_fn layout = nullptr, std::string arg_names = {});

/// Every actor class of this program's own (a copy, for the build
/// fingerprint): not those of job libraries loaded since.
std::vector<actor_class_info> all_actor_classes();

/// The class registered under `name`, or null. With a `library`, among
/// the classes that job library registered.
const actor_class_info* find_actor_class(std::string_view name, const std::string& library = {});

/// The method of `cls` named `name`, or null.
const method_info* find_method(const actor_class_info& cls, std::string_view name);

/// The constructor of `cls` registered under `key`, or null.
ctor_factory find_actor_ctor(const actor_class_info& cls, std::string_view key);

/// The class's entry, or throws `unknown_function_error` naming the fix.
const actor_class_info& lookup_actor_class(const std::type_info& cls);

/// The registered name of a method, or throws `unknown_function_error`
/// naming the fix (add it to `MANTA_ACTOR`).
const std::string& lookup_method(const actor_class_info& cls, const std::type_info& type,
                                 const void* bytes, size_t size);

/// The factory of calls of `M` from encoded arguments, or null if they
/// cannot cross nodes (defined in typed_call.hpp).
template <class M>
call_factory call_factory_for() noexcept;

template <class M>
struct method_layout;

template <class T, class R, class... Ps>
struct method_layout<R (T::*)(Ps...)> {
  static constexpr layout_fn value = &layout_of_callable<typename call_result<R>::type, Ps...>;
};

template <class T, class R, class... Ps>
struct method_layout<R (T::*)(Ps...) const> : method_layout<R (T::*)(Ps...)> {};

template <class M>
method_info make_method_info(std::string name, M m) {
  method_info out{std::move(name), &typeid(M), std::string(sizeof(M), '\0'), call_factory_for<M>(),
                  method_layout<M>::value};
  std::memcpy(out.bytes.data(), &m, sizeof(M));
  return out;
}

/// `m`'s member pointer, back from its bytes.
template <class M>
M method_pointer(const method_info& m) {
  M out;
  std::memcpy(&out, m.bytes.data(), sizeof(M));
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
    auto name = next_listed_name(all);
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
