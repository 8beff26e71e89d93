#pragma once

#include <boost/pfr/core.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/error.hpp>

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

/// Plain aggregates travel without hand-written code. A struct such as
/// `struct point { double x, y; std::string label; };` is serialized field
/// by field, in declaration order, as if it had the `inspect` overload a
/// user would write for CAF. Boost.PFR reads the fields; it needs no macro
/// and no annotation, which is why it was chosen over Boost.Describe.
///
/// A type qualifies when it is a non-empty aggregate class (no user-declared
/// constructors, no base classes, no virtual functions) that is not a range,
/// and every field can itself be serialized and written back (no pointers,
/// references or const fields). Anything else keeps needing an `inspect`
/// overload, and one the user writes always wins over this one (it is more
/// specialized).
namespace manta::detail {

/// Converts to the base classes of `T` only: `T{base_probe<T>{}}` compiles
/// exactly when the first element of `T`'s aggregate initialization is a
/// base class subobject. Boost.PFR rejects such types with a hard error, so
/// they must be ruled out before it is asked.
template <class T>
struct base_probe {
  template <class B>
    requires(std::is_base_of_v<B, T> && !std::is_same_v<B, T>)
  operator B() const;
};

template <class T>
concept aggregate_with_base = requires { T{base_probe<T>{}}; };

/// Whether `F` is `T` or holds `T` through containers (`std::vector<T>`,
/// maps, optionals): a type that contains itself, such as a tree's
/// `std::vector<tree> kids`.
template <class F, class T>
constexpr bool holds_type() {
  if constexpr (std::is_same_v<F, T>)
    return true;
  else if constexpr (requires { typename F::mapped_type; })
    return holds_type<typename F::mapped_type, T>();
  else if constexpr (requires { typename F::value_type; })
    return !std::is_same_v<typename F::value_type, F> && holds_type<typename F::value_type, T>();
  else
    return false;
}

/// Whether field type `F` of `T` can be written and read back. A field that
/// holds `T` itself is taken to travel when `T` does: asking CAF would ask
/// about `T` again while `T` is being decided (the compiler rejects such a
/// constraint as depending on itself), and the other fields decide.
template <class F, class T>
constexpr bool field_travels() {
  if constexpr (std::is_const_v<F> || std::is_reference_v<F>)
    return false;
  else if constexpr (holds_type<F, T>())
    return true;
  else
    return caf::detail::is_serializable<F>::value;
}

template <class T, size_t... Is>
constexpr bool fields_travel(std::index_sequence<Is...>) {
  return (field_travels<boost::pfr::tuple_element_t<Is, T>, T>() && ...);
}

/// Whether `T` is serialized by the field-by-field overloads below.
template <class T>
concept plain_aggregate =
  std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_empty_v<T>
  && !caf::detail::is_iterable<T>::value && !aggregate_with_base<T>
  && fields_travel<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});

/// Hands every field of `x` to the inspector `f`, in declaration order.
template <class Inspector, class T>
typename Inspector::result_type inspect_fields(Inspector& f, T& x) {
  return std::apply([&f](auto&... fields) { return f(fields...); }, boost::pfr::structure_tie(x));
}

class layout_describer; // type_layout.hpp

namespace inspect_probe {

/// An inspector no overload here accepts: a type that has an `inspect`
/// for it has one of its own, written for any inspector (CAF's idiom).
struct inspector {
  using result_type = caf::error;
  template <class... Ts>
  caf::error operator()(Ts&&...);
};

} // namespace inspect_probe

/// Whether `T` has an `inspect` overload of its own.
template <class T>
concept has_own_inspect = requires(inspect_probe::inspector& f, T& x) { inspect(f, x); };

/// Found by argument-dependent lookup for the runtime's own inspector that
/// describes layouts (type_layout.hpp), so that two builds compare an
/// aggregate's fields, not only its name and size. Only for that inspector:
/// a generic one here would be as good a match as the one in `caf` below
/// for aggregates declared in this namespace. Not for a type with an
/// `inspect` of its own: neither overload would be the better match.
template <plain_aggregate T>
  requires(!has_own_inspect<T>)
auto inspect(layout_describer& f, T& x) {
  return inspect_fields(f, x);
}

} // namespace manta::detail

namespace caf {

/// Found by argument-dependent lookup through CAF's serializer and
/// deserializer, which live in this namespace: the user's type may live in
/// any namespace, so this is the one place an overload can be seen from.
template <class Inspector, manta::detail::plain_aggregate T>
typename Inspector::result_type inspect(Inspector& f, T& x) {
  return manta::detail::inspect_fields(f, x);
}

} // namespace caf
