#pragma once

#include "manta/core/codec.hpp"
#include "manta/core/demangle.hpp"

#include <array>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace manta {

template <class T>
class object_ref;

template <class T>
class actor_handle;

template <class T>
class queue;

template <class T>
class generator_sink;

} // namespace manta

namespace manta::detail {

/// Runs a registered function from encoded arguments and returns its encoded
/// result (empty for void): how a node runs a task another node sent it.
/// Throws what the function throws, or `std::runtime_error` for arguments
/// that do not decode.
using invoke_fn = std::vector<char> (*)(const void* fn,
                                        const std::vector<std::span<const char>>& args);

/// Whether a task result of type `R` can travel back: void, or decodable
/// (the owner rebuilds it from the bytes the other node sends).
template <class R>
constexpr bool result_travels() {
  if constexpr (std::is_void_v<R>)
    return true;
  else
    return is_decodable_v<R>;
}

/// Whether a function `R(Ps...)` can run on another node: every parameter
/// can be rebuilt from bytes and the result turned into bytes and back.
template <class R, class... Ps>
inline constexpr bool remote_invocable_v = result_travels<R>()
                                           && (is_decodable_v<std::decay_t<Ps>> && ...);

/// Runtime handles (queues, refs to values that cannot be serialized, std
/// containers of them) cannot cross nodes yet (actor handles and object refs
/// to serializable values can: they have an `inspect`, actor.hpp and
/// object_ref.hpp, so the checks below find them decodable first). A function taking one is the
/// usual way to share actors and refs between tasks on one node, so it is not a compile error: in a
/// cluster its tasks stay on the driver and the first one submitted says so
/// (task_spec::travel_blocker).
template <class T>
struct holds_handles : std::false_type {};

template <class U>
struct holds_handles<object_ref<U>> : std::true_type {};

template <class U>
struct holds_handles<queue<U>> : std::true_type {};

/// A streaming generator's sink (generator.hpp): made by the node that runs
/// the generator, never sent. Generator tasks and method calls travel
/// without it (the invoker, or the call built from the wire, makes the
/// sink there: typed_task.hpp, typed_call.hpp).
template <class U>
struct holds_handles<generator_sink<U>> : std::true_type {};

template <class T>
struct is_generator_sink : std::false_type {};

template <class U>
struct is_generator_sink<generator_sink<U>> : std::true_type {};

template <class E, class A>
struct holds_handles<std::vector<E, A>> : holds_handles<E> {};

template <class E, size_t N>
struct holds_handles<std::array<E, N>> : holds_handles<E> {};

template <class A, class B>
struct holds_handles<std::pair<A, B>>
  : std::bool_constant<holds_handles<A>::value || holds_handles<B>::value> {};

template <class... Ts>
struct holds_handles<std::tuple<Ts...>> : std::bool_constant<(holds_handles<Ts>::value || ...)> {};

/// Whether `T` may appear in a `MANTA_REMOTE` signature.
template <class T>
constexpr bool declared_travel_ok() {
  if constexpr (std::is_void_v<T>)
    return true;
  else
    return is_decodable_v<T> || holds_handles<T>::value;
}

/// The check behind `MANTA_REMOTE`: a function declared for use across
/// nodes whose parameter or result type `T` cannot cross them stops the
/// build here, and the compiler's "required from travel_check<T>" line names
/// the type. (At run time it would silently stay on the calling node.)
template <class T>
struct travel_check {
  static_assert(declared_travel_ok<T>(),
                "MANTA_REMOTE: a parameter or result type of this function cannot cross "
                "nodes (the type is the T of travel_check<T> above). Make it a plain "
                "struct of serializable fields (no pointers, references, const fields "
                "or base classes), give it a CAF `inspect` overload, or declare the "
                "function with MANTA_LOCAL(...) instead to keep its tasks on the node "
                "that submits them");
  static constexpr bool ok = true;
};

/// Instantiates `travel_check` for `f`'s result and every parameter.
template <class R, class... Ps>
constexpr bool check_travels(R (*)(Ps...)) {
  return travel_check<R>::ok && (travel_check<std::decay_t<Ps>>::ok && ...);
}

/// Sets `out`, if still empty, to "<role> <n>'s <problem>" for a non-empty
/// `problem` (first_travel_problem; out of line, remote_invoker.cpp).
void note_travel_problem(std::string& out, const char* role, size_t n, const std::string& problem);

/// Throw `decode_wire_args`'s errors (out of line: the same for every type).
[[noreturn]] void throw_wire_arg_count(size_t got, size_t expected);
[[noreturn]] void throw_wire_arg_undecodable(size_t index, const value_error& err);

/// Why values of `T` cannot cross nodes, naming the type; empty when they
/// can (or `T` is void).
template <class T>
std::string travel_problem() {
  if constexpr (std::is_void_v<T>) {
    return {};
  } else if constexpr (is_decodable_v<T>) {
    return {};
  } else if constexpr (is_generator_sink<T>::value) {
    return "type '" + demangle(typeid(T).name())
           + "' is a streaming generator's sink, which is never sent (only as the first "
             "parameter of a generator task or method does the node running it make one)";
  } else if constexpr (holds_handles<T>::value) {
    return "type '" + demangle(typeid(T).name())
           + "' holds object refs or queues, which cannot cross nodes yet";
  } else {
    return "type '" + demangle(typeid(T).name())
           + "' cannot be serialized (make it a plain struct of serializable fields, "
             "or give it a CAF inspect overload)";
  }
}

/// The first of `Ts` that cannot cross nodes, as "<role> <n>'s <problem>";
/// empty if all can. `role` names what the list holds ("parameter").
template <class... Ts>
std::string first_travel_problem(const char* role) {
  std::string out;
  size_t n = 0;
  [[maybe_unused]] auto one = [&](const std::string& problem) { // unused when Ts is empty
    note_travel_problem(out, role, ++n, problem);
  };
  (one(travel_problem<Ts>()), ...);
  return out;
}

/// Why a function `R(Ps...)` cannot run on another node; empty if it can.
template <class R, class... Ps>
std::string signature_travel_problem() {
  if (auto p = travel_problem<R>(); !p.empty())
    return "the result's " + p;
  return first_travel_problem<std::decay_t<Ps>...>("parameter");
}

/// Decodes encoded arguments into values of types `Vs`; throws
/// `std::runtime_error` naming the first one that does not decode.
template <class... Vs>
std::tuple<Vs...> decode_wire_args(const std::vector<std::span<const char>>& args) {
  if (args.size() != sizeof...(Vs))
    throw_wire_arg_count(args.size(), sizeof...(Vs));
  std::tuple<Vs...> values;
  [&]<size_t... Is>(std::index_sequence<Is...>) {
    [[maybe_unused]] auto decode_one = [&](auto& out, std::span<const char> in, size_t i) {
      if (auto err = decode(in, out))
        throw_wire_arg_undecodable(i, err);
    };
    (decode_one(std::get<Is>(values), args[Is], Is), ...);
  }(std::index_sequence_for<Vs...>{});
  return values;
}

template <class R, class... Ps>
struct remote_invoker {
  static std::vector<char> invoke(const void* fn, const std::vector<std::span<const char>>& args) {
    auto values = decode_wire_args<std::decay_t<Ps>...>(args);
    auto f = reinterpret_cast<R (*)(Ps...)>(const_cast<void*>(fn));
    if constexpr (std::is_void_v<R>) {
      std::apply(f, values);
      return {};
    } else if constexpr (std::is_same_v<R, std::vector<char>>) {
      // A vector of bytes is its own encoding (codec.hpp, raw_codable):
      // handed on as it is, not copied into an encoding of its own, so a
      // small result reaches its owner in two copies (CAF's write on this
      // node, its read on the owner's).
      return std::apply(f, values);
    } else {
      return encode(std::apply(f, values));
    }
  }
};

/// Runs a streaming generator for another node (generator.hpp).
template <class U, class... Ps>
struct generator_invoker;

/// Whether a streaming generator `void(generator_sink<U>&, Ps...)` can run
/// on another node: its items and other parameters travel.
template <class U, class... Ps>
inline constexpr bool generator_invocable_v = is_decodable_v<U>
                                              && (is_decodable_v<std::decay_t<Ps>> && ...);

/// The invoker of a streaming generator, or null if it cannot run on
/// another node (its items or parameters cannot be serialized).
template <class R, class U, class... Ps>
invoke_fn invoker_for(R (*)(generator_sink<U>&, Ps...)) {
  if constexpr (std::is_void_v<R> && generator_invocable_v<U, Ps...>)
    return &generator_invoker<U, Ps...>::invoke;
  else
    return nullptr;
}

/// The invoker of `f`, or null if its types cannot cross nodes (it then
/// runs only where it is called).
template <class R, class... Ps>
invoke_fn invoker_for(R (*)(Ps...)) {
  if constexpr (remote_invocable_v<R, Ps...>)
    return &remote_invoker<R, Ps...>::invoke;
  else
    return nullptr;
}

} // namespace manta::detail
