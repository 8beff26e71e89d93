#pragma once

#include "manta/core/inspect_meta.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

/// The codec's serializer and deserializer: CAF 0.17's binary format,
/// written without CAF so that the public headers need none of it (a
/// program including manta.hpp compiles in half the time). The bytes are
/// those of CAF's `binary_serializer` (with floating-point numbers as their
/// IEEE 754 bits, as the codec wrote them through CAF before), value for
/// value: integers in network byte order, sizes as CAF's varbyte, strings
/// and byte vectors as a size and their bytes, containers as a size and
/// their elements, arrays, pairs and tuples as their elements, enums as
/// their underlying type, durations as their count, and any type with an
/// `inspect` overload as the fields it lists (CAF's idiom, which user code
/// keeps writing: tests/codec_compat_test.cpp checks both against CAF's
/// serializer). Which types travel is what CAF 0.17 accepted: `travels_v`.
namespace manta::detail {

class value_writer;
class value_reader;

namespace inspect_traits {

template <class T>
inline constexpr bool is_text_v = std::is_same_v<T, std::string>
                                  || std::is_same_v<T, std::u16string>
                                  || std::is_same_v<T, std::u32string>;

/// Arithmetic types and the three string types: written as one value.
template <class T>
inline constexpr bool is_primitive_v = std::is_arithmetic_v<T> || is_text_v<T>;

/// A container CAF writes as a sequence: begin() and end(), forward
/// iterators, not a primitive.
template <class T>
concept iterable = !is_primitive_v<T> && requires(T& c) {
  requires std::forward_iterator<decltype(c.begin())>;
  { c.begin() != c.end() } -> std::convertible_to<bool>;
};

/// Sequences CAF copies as one block of bytes.
template <class T>
inline constexpr bool is_byte_sequence_v = std::is_same_v<T, std::vector<char>>
                                           || std::is_same_v<T, std::vector<unsigned char>>
                                           || std::is_same_v<T, std::string>;

template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

template <class T>
struct is_time_point : std::false_type {};
template <class C, class D>
struct is_time_point<std::chrono::time_point<C, D>> : std::true_type {};

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

template <class T>
struct is_std_array : std::false_type {};
template <class T, size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

} // namespace inspect_traits

/// Whether `T` has an `inspect` overload for the codec's inspectors: one of
/// the user's (written for any inspector, CAF's idiom), object_ref's and
/// actor_handle's, or the one for plain aggregates (aggregate_inspect.hpp).
template <class T>
concept has_inspect = requires(value_writer& w, value_reader& r, T& x) {
  inspect(w, x);
  inspect(r, x);
};

/// Whether values of `T` can be written and read back: CAF 0.17's
/// `is_serializable` (pointers and functions never; arithmetic types and
/// strings; types with an `inspect`; enums and empty types; durations,
/// time points, pairs, tuples, arrays and containers of such types).
template <class T>
constexpr bool travels() {
  using U = std::remove_cvref_t<T>;
  namespace it = inspect_traits;
  if constexpr (std::is_pointer_v<U> || std::is_function_v<U>)
    return false;
  else if constexpr (it::is_primitive_v<U>)
    return true;
  else if constexpr (has_inspect<U>)
    return true;
  else if constexpr (std::is_enum_v<U> || std::is_empty_v<U>)
    return true;
  else if constexpr (it::is_duration<U>::value)
    return travels<typename U::rep>();
  else if constexpr (it::is_time_point<U>::value)
    return travels<typename U::duration>();
  else if constexpr (it::is_pair<U>::value)
    return travels<typename U::first_type>() && travels<typename U::second_type>();
  else if constexpr (it::is_tuple<U>::value)
    return []<class... Ts>(std::tuple<Ts...>*) {
      return (travels<Ts>() && ...);
    }(static_cast<U*>(nullptr));
  else if constexpr (std::is_array_v<U> && std::extent_v<U> != 0)
    return travels<std::remove_extent_t<U>>();
  else if constexpr (it::iterable<U>)
    return travels<typename U::value_type>();
  else
    return false;
}

template <class T>
inline constexpr bool travels_v = travels<T>();

/// `long double` as CAF writes it: as text (out of line, value_inspector.cpp).
std::string long_double_text(long double x);
bool long_double_from_text(const std::string& text, long double& x);

/// What the two inspectors share: the walk over a value's parts, in
/// the order and form of CAF 0.17's `data_processor`.
template <class Derived, bool Loading>
class value_inspector {
public:
  /// The result of `inspect` overloads written for this inspector.
  using result_type = value_error;

  /// CAF's names: a serializer reads the state of what it is given.
  static constexpr bool reads_state = !Loading;
  static constexpr bool writes_state = Loading;

  value_error operator()() { return {}; }

  /// Applies the inspector to every field in order, running callbacks at
  /// their place and skipping annotations (CAF's `operator()`).
  template <class... Ts>
  value_error operator()(Ts&&... xs) {
    value_error result;
    auto step = [&](auto&& x) {
      using X = std::remove_cvref_t<decltype(x)>;
      if constexpr (meta::is_save_callback<X>::value) {
        if constexpr (!Loading)
          result = meta::run_callback(x);
      } else if constexpr (meta::is_load_callback<X>::value) {
        if constexpr (Loading)
          result = meta::run_callback(x);
      } else if constexpr (meta::is_skipped_v<X>) {
        // a type name or a format: no bytes
      } else {
        result = apply(const_cast<X&>(x));
      }
      return !result;
    };
    (step(std::forward<Ts>(xs)) && ...);
    return result;
  }

  /// One value of any type that travels.
  template <class T>
  value_error apply(T& x) {
    namespace it = inspect_traits;
    static_assert(travels_v<T>, "manta: this type cannot be serialized (see codec.hpp)");
    if constexpr (std::is_same_v<T, bool>) {
      uint8_t tmp = x ? 1 : 0;
      auto err = self().primitive(tmp);
      if constexpr (Loading)
        x = tmp != 0;
      return err;
    } else if constexpr (std::is_integral_v<T>) {
      using U = std::conditional_t<
        sizeof(T) == 1, std::conditional_t<std::is_signed_v<T>, int8_t, uint8_t>,
        std::conditional_t<
          sizeof(T) == 2, std::conditional_t<std::is_signed_v<T>, int16_t, uint16_t>,
          std::conditional_t<sizeof(T) == 4,
                             std::conditional_t<std::is_signed_v<T>, int32_t, uint32_t>,
                             std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>>>;
      return self().primitive(reinterpret_cast<U&>(x));
    } else if constexpr (std::is_arithmetic_v<T> || it::is_text_v<T>) {
      return self().primitive(x);
    } else if constexpr (has_inspect<T>) {
      return inspect(self(), x);
    } else if constexpr (std::is_enum_v<T>) {
      using U = std::underlying_type_t<T>;
      U tmp = static_cast<U>(x);
      auto err = apply(tmp);
      if constexpr (Loading)
        if (!err)
          x = static_cast<T>(tmp);
      return err;
    } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
      return bits(x);
    } else if constexpr (it::is_std_array<T>::value || std::is_array_v<T>) {
      for (auto& e : x)
        if (auto err = apply(e))
          return err;
      return {};
    } else if constexpr (it::is_pair<T>::value) {
      using F = std::remove_const_t<typename T::first_type>;
      if (auto err = apply(const_cast<F&>(x.first)))
        return err;
      return apply(x.second);
    } else if constexpr (it::is_tuple<T>::value) {
      return std::apply([this](auto&... xs) { return (*this)(xs...); }, x);
    } else if constexpr (it::is_duration<T>::value) {
      using R =
        std::conditional_t<std::is_floating_point_v<typename T::rep>, double, typename T::rep>;
      R tmp = static_cast<R>(x.count());
      auto err = apply(tmp);
      if constexpr (Loading)
        if (!err)
          x = T{static_cast<typename T::rep>(tmp)};
      return err;
    } else if constexpr (it::is_time_point<T>::value) {
      auto d = x.time_since_epoch();
      auto err = apply(d);
      if constexpr (Loading)
        x = T{d};
      return err;
    } else if constexpr (it::iterable<T>) {
      return self().sequence(x);
    } else {
      static_assert(std::is_empty_v<T>);
      return {};
    }
  }

private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }

  /// `std::vector<bool>` as CAF packs it: its size, then (when not empty)
  /// a byte vector of the bits, 8 to a byte, lowest first.
  value_error bits(std::vector<bool>& x) {
    size_t len = x.size();
    if (auto err = self().size(len); err || len == 0)
      return err;
    std::vector<uint8_t> packed;
    if constexpr (!Loading) {
      packed.resize((x.size() - 1) / 8 + 1, 0);
      for (size_t k = 0; k < x.size(); ++k)
        if (x[k])
          packed[k / 8] |= static_cast<uint8_t>(1 << (k % 8));
    }
    auto err = apply(packed);
    if constexpr (Loading) {
      if (err)
        return err;
      x.resize(len, false);
      size_t at = 0;
      for (auto v : packed)
        for (int k = 0; k < 8 && at < len; ++k)
          x[at++] = (v & (1 << k)) != 0;
    }
    return err;
  }
};

/// Writes values in CAF 0.17's binary format, appending to a byte vector.
class value_writer final : public value_inspector<value_writer, false> {
public:
  explicit value_writer(std::vector<char>& out) noexcept : out_(out) {}

  /// A sequence's size: CAF's varbyte of its low 32 bits.
  value_error size(size_t n) {
    auto x = static_cast<uint32_t>(n);
    while (x > 0x7f) {
      out_.push_back(static_cast<char>((x & 0x7f) | 0x80));
      x >>= 7;
    }
    out_.push_back(static_cast<char>(x));
    return {};
  }

  value_error raw(const void* data, size_t n) {
    auto* p = static_cast<const char*>(data);
    out_.insert(out_.end(), p, p + n);
    return {};
  }

  template <class T>
  value_error primitive(T& x) {
    if constexpr (sizeof(T) == 1 && std::is_integral_v<T>) {
      return raw(&x, 1);
    } else if constexpr (std::is_integral_v<T>) {
      return big_endian(static_cast<std::make_unsigned_t<T>>(x));
    } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
      U u = 0;
      std::memcpy(&u, &x, sizeof(U));
      return big_endian(u);
    } else if constexpr (std::is_same_v<T, long double>) {
      auto text = long_double_text(x);
      return primitive(text);
    } else if constexpr (std::is_same_v<T, std::string>) {
      size(x.size());
      return raw(x.data(), x.size());
    } else {
      size(x.size());
      for (auto c : x)
        big_endian(static_cast<std::conditional_t<sizeof(c) == 2, uint16_t, uint32_t>>(c));
      return {};
    }
  }

  template <class C>
  value_error sequence(C& xs) {
    size(xs.size());
    if constexpr (inspect_traits::is_byte_sequence_v<C>)
      return raw(xs.data(), xs.size());
    for (auto& x : xs)
      if (auto err = apply(
            const_cast<std::remove_const_t<std::remove_reference_t<decltype(x)>>&>(x)))
        return err;
    return {};
  }

private:
  template <class U>
  value_error big_endian(U x) {
    char b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i)
      b[i] = static_cast<char>(x >> (8 * (sizeof(U) - 1 - i)));
    return raw(b, sizeof(U));
  }

  std::vector<char>& out_;
};

/// Reads values written by `value_writer` (or CAF's binary serializer)
/// from a block of bytes; running past its end is an error.
class value_reader final : public value_inspector<value_reader, true> {
public:
  value_reader(const char* data, size_t n) noexcept : at_(data), end_(data + n) {}

  /// Bytes not read yet.
  size_t remaining() const noexcept { return static_cast<size_t>(end_ - at_); }

  value_error size(size_t& n) {
    uint32_t x = 0;
    uint8_t low7 = 0;
    int shift = 0;
    do {
      if (at_ == end_)
        return end_of_stream();
      low7 = static_cast<uint8_t>(*at_++);
      if (shift < 32)
        x |= static_cast<uint32_t>(low7 & 0x7f) << shift;
      shift += 7;
    } while (low7 & 0x80);
    n = x;
    return {};
  }

  value_error raw(void* data, size_t n) {
    if (remaining() < n)
      return end_of_stream();
    if (n > 0)
      std::memcpy(data, at_, n);
    at_ += n;
    return {};
  }

  template <class T>
  value_error primitive(T& x) {
    if constexpr (sizeof(T) == 1 && std::is_integral_v<T>) {
      return raw(&x, 1);
    } else if constexpr (std::is_integral_v<T>) {
      std::make_unsigned_t<T> u = 0;
      if (auto err = big_endian(u))
        return err;
      x = static_cast<T>(u);
      return {};
    } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t> u = 0;
      if (auto err = big_endian(u))
        return err;
      std::memcpy(&x, &u, sizeof(T));
      return {};
    } else if constexpr (std::is_same_v<T, long double>) {
      std::string text;
      if (auto err = primitive(text))
        return err;
      if (!long_double_from_text(text, x))
        return value_error{"invalid_argument: a long double's text does not parse"};
      return {};
    } else if constexpr (std::is_same_v<T, std::string>) {
      size_t n = 0;
      if (auto err = size(n))
        return err;
      if (remaining() < n)
        return end_of_stream();
      x.assign(at_, n);
      at_ += n;
      return {};
    } else {
      size_t n = 0;
      if (auto err = size(n))
        return err;
      x.clear();
      for (size_t i = 0; i < n; ++i) {
        std::conditional_t<sizeof(typename T::value_type) == 2, uint16_t, uint32_t> c = 0;
        if (auto err = big_endian(c))
          return err;
        x.push_back(static_cast<typename T::value_type>(c));
      }
      return {};
    }
  }

  template <class C>
  value_error sequence(C& xs) {
    size_t n = 0;
    if (auto err = size(n))
      return err;
    if constexpr (inspect_traits::is_byte_sequence_v<C>) {
      if (remaining() < n) // before resizing: a size read from bytes is not trusted
        return end_of_stream();
      xs.resize(n);
      return raw(xs.data(), n);
    } else {
      xs.clear();
      auto into = std::inserter(xs, xs.end());
      for (size_t i = 0; i < n; ++i) {
        element_t<typename C::value_type> x{};
        if (auto err = apply(x))
          return err;
        *into++ = std::move(x);
      }
      return {};
    }
  }

private:
  /// The element read before it is inserted: `std::pair<K, V>` for a
  /// map's `std::pair<const K, V>`.
  template <class V>
  struct element {
    using type = std::remove_const_t<V>;
  };
  template <class K, class V>
  struct element<std::pair<const K, V>> {
    using type = std::pair<K, V>;
  };
  template <class V>
  using element_t = typename element<V>::type;

  static value_error end_of_stream() {
    return value_error{"end_of_stream: the bytes end before the value does"};
  }

  template <class U>
  value_error big_endian(U& x) {
    unsigned char b[sizeof(U)] = {};
    if (auto err = raw(b, sizeof(U)))
      return err;
    x = 0;
    for (size_t i = 0; i < sizeof(U); ++i)
      x = static_cast<U>((x << 8) | b[i]);
    return {};
  }

  const char* at_;
  const char* end_;
};

} // namespace manta::detail
