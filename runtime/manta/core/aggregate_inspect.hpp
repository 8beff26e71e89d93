#pragma once

#include "manta/core/value_inspector.hpp"

#include <boost/pfr/core.hpp>

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
/// holds `T` itself is taken to travel when `T` does: asking `travels` would ask
/// about `T` again while `T` is being decided (the compiler rejects such a
/// constraint as depending on itself), and the other fields decide.
template <class F, class T>
constexpr bool field_travels() {
  if constexpr (std::is_const_v<F> || std::is_reference_v<F>)
    return false;
  else if constexpr (holds_type<F, T>())
    return true;
  else
    return travels<F>();
}

template <class T, size_t... Is>
constexpr bool fields_travel(std::index_sequence<Is...>) {
  return (field_travels<boost::pfr::tuple_element_t<Is, T>, T>() && ...);
}

/// Whether `T` is serialized by the field-by-field overloads below.
template <class T>
concept plain_aggregate =
  std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_empty_v<T>
  && !inspect_traits::iterable<T> && !aggregate_with_base<T>
  && fields_travel<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});

/// Hands every field of `x` to the inspector `f`, in declaration order.
template <class Inspector, class T>
typename Inspector::result_type inspect_fields(Inspector& f, T& x) {
  return std::apply([&f](auto&... fields) { return f(fields...); }, boost::pfr::structure_tie(x));
}

/// Found by argument-dependent lookup through the codec's inspectors and
/// the layout describer (type_layout.hpp), which live in this namespace:
/// the user's type may live in any namespace, so this is the one place an
/// overload can be seen from. An `inspect` the user writes for the type is
/// more specialized and wins.
template <class Inspector, plain_aggregate T>
typename Inspector::result_type inspect(Inspector& f, T& x) {
  return inspect_fields(f, x);
}

} // namespace manta::detail
