#pragma once

#include "manta/core/aggregate_inspect.hpp"
#include "manta/core/demangle.hpp"

#include "manta/core/inspect_meta.hpp"
#include "manta/core/value_inspector.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <ratio>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>
#include <vector>

/// The layout of a type as text, so that two binaries can tell whether they
/// encode a value the same way. Two processes that agree on a function's
/// name and mangled signature may still disagree on what its types hold (a
/// struct whose fields were reordered or changed keeps its name, and so its
/// mangled signature): the codec would then read one layout as the other.
/// The description names what the codec's bytes depend on: arithmetic types
/// by kind and size, strings, containers by their elements, std::pair /
/// tuple / optional / variant by their parts, and user types with a CAF
/// `inspect` overload (or plain aggregates, aggregate_inspect.hpp) by the
/// layouts of the fields the overload lists, in order (found with `layout_describer`, an
/// inspector of CAF 0.17's idiom that records instead of serializing). Examples: `int32`,
/// `list<float64>`, `point{int32, float32}`, `map<string, list<point{int32, float32}>>`. CAF 0.17's
/// `inspect` does not name fields, so neither does this. A trivially copyable type that is neither
/// (allowed as the element of a vector or array, which the codec copies as raw bytes) shows only
/// its name, size and alignment: its fields cannot be seen from C++.
namespace manta::detail {

template <class T>
std::string layout_of();

/// An inspector that records the layout of each field an `inspect`
/// overload hands it, in the order the codec's writer would write them.
/// Annotations are skipped as the writer skips them (a type name, Manta's
/// or CAF's, is kept for the record) and callbacks are not run.
class layout_describer {
public:
  // The codec writer's result type, so overloads written for it (returning
  // `typename Inspector::result_type`, or an error of CAF's) work here too.
  using result_type = value_error;

  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  template <class... Ts>
  value_error operator()(Ts&&... xs) {
    (take(xs), ...);
    return {};
  }

  /// The name given with a type name annotation, or empty.
  const std::string& type_name() const noexcept { return type_name_; }

  /// One layout per field, in order.
  const std::vector<std::string>& fields() const noexcept { return fields_; }

private:
  template <class T>
  void take(const T& x) {
    using U = std::decay_t<T>;
    if constexpr (meta::is_skipped_v<U> || meta::is_save_callback<U>::value
                  || meta::is_load_callback<U>::value) {
      // Not written by the serializer (a name, hex_formatted, omittable only
      // change how a value prints; callbacks run code, not fields).
      if (auto* name = meta::type_name_of(x); name && type_name_.empty())
        type_name_ = name;
    } else {
      fields_.push_back(layout_of<U>());
    }
  }

  std::string type_name_;
  std::vector<std::string> fields_;
};

namespace layout_detail {

/// The types whose layouts are being described on this thread, innermost
/// last: a type that contains itself (through a container) is named, not
/// expanded again.
/// `prefix` and the width in bits of `bytes` bytes, as "int32" (out of line,
/// type_layout.cpp: every file that registers a function describes numbers).
std::string sized_name(const char* prefix, size_t bytes);

inline std::vector<const std::type_info*>& in_progress() {
  thread_local std::vector<const std::type_info*> stack;
  return stack;
}

template <class T>
std::string name_of() {
  return demangle(typeid(T).name());
}

inline std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (auto& p : parts) {
    if (!out.empty())
      out += ", ";
    out += p;
  }
  return out;
}

template <class... Ts>
std::string list_of() {
  return join({layout_of<Ts>()...});
}

template <class T>
std::string size_note() {
  return std::to_string(sizeof(T)) + " bytes, align " + std::to_string(alignof(T));
}

/// Layouts of templates of the standard library the codec knows (its
/// inspectors or the raw path): `known` is false for anything else.
template <class T>
struct std_layout {
  static constexpr bool known = false;
};

template <class C, class Tr, class A>
struct std_layout<std::basic_string<C, Tr, A>> {
  static constexpr bool known = true;
  static std::string describe() {
    if constexpr (std::is_same_v<C, char>)
      return "string";
    else
      return "string<" + layout_of<C>() + ">";
  }
};

template <class E, class A>
struct std_layout<std::vector<E, A>> {
  static constexpr bool known = true;
  static std::string describe() { return "list<" + layout_of<E>() + ">"; }
};

template <class E, size_t N>
struct std_layout<std::array<E, N>> {
  static constexpr bool known = true;
  static std::string describe() {
    return "array<" + layout_of<E>() + ", " + std::to_string(N) + ">";
  }
};

template <class A, class B>
struct std_layout<std::pair<A, B>> {
  static constexpr bool known = true;
  static std::string describe() { return "pair<" + list_of<A, B>() + ">"; }
};

template <class... Ts>
struct std_layout<std::tuple<Ts...>> {
  static constexpr bool known = true;
  static std::string describe() { return "tuple<" + list_of<Ts...>() + ">"; }
};

template <class E>
struct std_layout<std::optional<E>> {
  static constexpr bool known = true;
  static std::string describe() { return "optional<" + layout_of<E>() + ">"; }
};

template <class... Ts>
struct std_layout<std::variant<Ts...>> {
  static constexpr bool known = true;
  static std::string describe() { return "variant<" + list_of<Ts...>() + ">"; }
};

template <class Rep, intmax_t Num, intmax_t Den>
struct std_layout<std::chrono::duration<Rep, std::ratio<Num, Den>>> {
  static constexpr bool known = true;
  static std::string describe() {
    return "duration<" + layout_of<Rep>() + ", " + std::to_string(Num) + "/" + std::to_string(Den)
           + ">";
  }
};

template <class Clock, class D>
struct std_layout<std::chrono::time_point<Clock, D>> {
  static constexpr bool known = true;
  static std::string describe() { return "time_point<" + layout_of<D>() + ">"; }
};

template <class T>
concept map_like = requires {
  typename T::key_type;
  typename T::mapped_type;
};

template <class T>
concept set_like = requires { typename T::key_type; } && !map_like<T>;

/// Walks `T`'s `inspect` overload on a default-constructed value.
template <class T>
std::string by_inspect() {
  auto& stack = in_progress();
  for (auto* t : stack)
    if (*t == typeid(T))
      return name_of<T>() + "{...}"; // itself, inside itself
  stack.push_back(&typeid(T));
  struct pop {
    std::vector<const std::type_info*>& s;
    ~pop() { s.pop_back(); }
  } guard{stack};
  try {
    T value{};
    layout_describer f;
    inspect(f, value);
    return name_of<T>() + "{" + join(f.fields()) + "}";
  } catch (...) {
    return name_of<T>() + "(" + size_note<T>() + "; its inspect overload threw)";
  }
}

} // namespace layout_detail

/// The layout of `T` as described above; equal for equal layouts in every
/// build made by the same compiler, different for different ones (as far
/// as `T` can be seen: see the notes on raw types).
template <class T>
std::string layout_of() {
  using U = std::remove_cv_t<std::remove_reference_t<T>>;
  namespace ld = layout_detail;
  if constexpr (std::is_same_v<U, bool>) {
    return "bool";
  } else if constexpr (std::is_same_v<U, char>) {
    return "char";
  } else if constexpr (std::is_same_v<U, wchar_t> || std::is_same_v<U, char8_t>
                       || std::is_same_v<U, char16_t> || std::is_same_v<U, char32_t>) {
    return ld::sized_name("char", sizeof(U));
  } else if constexpr (std::is_integral_v<U>) {
    return ld::sized_name(std::is_signed_v<U> ? "int" : "uint", sizeof(U));
  } else if constexpr (std::is_floating_point_v<U>) {
    if constexpr (std::is_same_v<U, long double>)
      return ld::sized_name("long_double", sizeof(U));
    else
      return ld::sized_name("float", sizeof(U));
  } else if constexpr (std::is_enum_v<U>) {
    return "enum " + ld::name_of<U>() + "(" + layout_of<std::underlying_type_t<U>>() + ")";
  } else if constexpr (std::is_array_v<U> && std::extent_v<U> != 0) {
    return "array<" + layout_of<std::remove_extent_t<U>>() + ", " + std::to_string(std::extent_v<U>)
           + ">";
  } else if constexpr (std::is_pointer_v<U>) {
    return "pointer";
  } else if constexpr (ld::std_layout<U>::known) {
    return ld::std_layout<U>::describe();
  } else if constexpr (requires(layout_describer& f, U& x) { inspect(f, x); }
                       && std::is_default_constructible_v<U>) {
    return ld::by_inspect<U>();
  } else if constexpr (ld::map_like<U>) {
    return "map<" + ld::list_of<typename U::key_type, typename U::mapped_type>() + ">";
  } else if constexpr (ld::set_like<U>) {
    return "set<" + layout_of<typename U::key_type>() + ">";
  } else if constexpr (inspect_traits::iterable<U> && requires { typename U::value_type; }) {
    return "list<" + layout_of<typename U::value_type>() + ">";
  } else if constexpr (std::is_empty_v<U>) {
    return ld::name_of<U>() + "{}";
  } else if constexpr (std::is_trivially_copyable_v<U>) {
    return ld::name_of<U>() + "(" + ld::size_note<U>()
           + ", trivially copyable; fields not visible without an inspect overload)";
  } else {
    return ld::name_of<U>() + "(" + ld::size_note<U>() + ", opaque)";
  }
}

} // namespace manta::detail
