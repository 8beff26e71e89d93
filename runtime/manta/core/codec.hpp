#pragma once

#include "manta/core/aggregate_inspect.hpp"
#include "manta/core/value_inspector.hpp"
#include "manta/store/store_copy.hpp"

#include <array>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace manta::detail {

// -- which types have an encoding ---------------------------------------------

/// Types whose in-memory bytes are their encoding: contiguous containers of
/// trivially copyable elements. They are written and read with one memcpy
/// (or none: the spill writer points Cap'n Proto at the vector's buffer),
/// because bandwidth matters for the large arrays that get spilled.
/// Pointers are excluded: their bytes mean nothing outside this process.
template <class T>
struct raw_codable : std::false_type {};

template <class T>
inline constexpr bool raw_element_v = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T>
                                      && !std::is_same_v<T, bool>;

template <class T, class A>
struct raw_codable<std::vector<T, A>> : std::bool_constant<raw_element_v<T>> {};

template <class T, size_t N>
struct raw_codable<std::array<T, N>> : std::bool_constant<raw_element_v<T>> {};

template <>
struct raw_codable<std::string> : std::true_type {};

template <class T>
inline constexpr bool is_raw_codable_v = raw_codable<T>::value;

/// Whether values of `T` can be turned into bytes: the raw fast path, or
/// everything CAF 0.17's binary serializer handles, which the codec's own
/// inspectors write the same way (value_inspector.hpp: arithmetic types,
/// strings, std containers, user types with an `inspect` overload, CAF's
/// idiom, and plain aggregates of such fields: aggregate_inspect.hpp).
template <class T>
inline constexpr bool is_encodable_v = is_raw_codable_v<T> || travels_v<T>;

/// Whether a stored `T` can be rebuilt from bytes (and so be spilled).
template <class T>
inline constexpr bool is_decodable_v = is_encodable_v<T> && std::is_default_constructible_v<T>
                                       && std::is_move_constructible_v<T>;

// -- errors -------------------------------------------------------------------

/// Makes the runtime's error value for a failed encode/decode or spill I/O
/// (`error_text` reads it back: inspect_meta.hpp).
inline value_error codec_error(std::string what) {
  return value_error{std::move(what)};
}

// -- encode / decode ----------------------------------------------------------

/// The bytes of an encoded value. They point into the value itself for raw
/// types (no copy) or into `storage` for inspected ones.
struct encoded_bytes {
  std::vector<char> storage;
  const char* data = nullptr;
  size_t size = 0;
};

/// A decoder's input: the encoded bytes, possibly split into chunks (as a
/// spill file holds them).
using byte_chunks = std::vector<std::span<const char>>;

/// The errors `decode_from` reports and the join of its chunks, out of line
/// (codec.cpp): the same for every type, so not built again in every file
/// that decodes one.
[[gnu::cold]] value_error chunk_total_error(size_t sum, size_t total);
[[gnu::cold]] value_error element_size_error(size_t total, size_t element_size);
[[gnu::cold]] value_error array_size_error(size_t total, size_t array_size);
[[gnu::cold]] value_error leftover_error(size_t remaining);

/// Throws `encode`'s error.
[[noreturn]] void throw_encode_error(const value_error& err);

/// The bytes of `chunks` in one piece: the one chunk's, or joined into
/// `joined` (`total` bytes).
const char* joined_bytes(const byte_chunks& chunks, size_t total, std::vector<char>& joined);

template <class T>
void static_assert_encodable() {
  static_assert(is_encodable_v<T>,
                "manta::detail::codec: this type cannot be serialized. A plain "
                "struct travels as it is when every field does (no pointers, "
                "references, const fields or base classes); otherwise add an "
                "`inspect` overload next to it, e.g. `template <class Inspector> "
                "typename Inspector::result_type inspect(Inspector& f, my_type& x) "
                "{ return f(x.a, x.b); }` (CAF's idiom; CAF's annotations such as "
                "caf::meta::type_name are accepted), or store a std container of such types");
}

/// Encodes `x` without copying when it is raw-codable.
template <class T>
value_error encode_into(const T& x, encoded_bytes& out) {
  static_assert_encodable<T>();
  if constexpr (is_raw_codable_v<T>) {
    out.data = reinterpret_cast<const char*>(x.data());
    out.size = x.size() * sizeof(typename T::value_type);
    return {};
  } else {
    value_writer sink{out.storage};
    if (auto err = sink(const_cast<T&>(x)))
      return err;
    out.data = out.storage.data();
    out.size = out.storage.size();
    return {};
  }
}

/// Rebuilds `out` from encoded bytes.
template <class T>
value_error decode_from(const byte_chunks& chunks, size_t total, T& out) {
  static_assert_encodable<T>();
  size_t sum = 0;
  for (auto c : chunks)
    sum += c.size();
  if (sum != total)
    return chunk_total_error(sum, total);
  if constexpr (is_raw_codable_v<T>) {
    using E = typename T::value_type;
    if (total % sizeof(E) != 0)
      return element_size_error(total, sizeof(E));
    if constexpr (requires { out.resize(size_t{}); }) {
      out.clear();
      if (total >= huge_copy_bytes && out.capacity() * sizeof(E) < total) {
        T{}.swap(out);
        out.reserve(total / sizeof(E));
        populate_pages(out.data(), total); // fresh memory (store_copy.hpp)
      }
      out.reserve(total / sizeof(E));
      // Appending a range of trivially copyable elements is one memmove and,
      // unlike resize + memcpy, does not zero the buffer first. A chunk that
      // is misaligned or splits an element (spill files cut at word
      // boundaries, elements may be 12 bytes) switches to byte copies into
      // the fully sized buffer.
      size_t at = 0;
      bool sized = false;
      for (auto c : chunks) {
        if (c.empty()) // may have a null data(): no memcpy from or to null
          continue;
        if (!sized && reinterpret_cast<uintptr_t>(c.data()) % alignof(E) == 0
            && c.size() % sizeof(E) == 0) {
          auto* first = reinterpret_cast<const E*>(c.data());
          out.insert(out.end(), first, first + c.size() / sizeof(E));
        } else {
          if (!sized) {
            out.resize(total / sizeof(E));
            sized = true;
          }
          std::memcpy(reinterpret_cast<char*>(out.data()) + at, c.data(), c.size());
        }
        at += c.size();
      }
    } else { // std::array
      if (total != sizeof(T))
        return array_size_error(total, sizeof(T));
      size_t at = 0;
      for (auto c : chunks) {
        if (!c.empty())
          std::memcpy(reinterpret_cast<char*>(out.data()) + at, c.data(), c.size());
        at += c.size();
      }
    }
    return {};
  } else {
    std::vector<char> joined;
    value_reader source{joined_bytes(chunks, total, joined), total};
    if (auto err = source(out))
      return err;
    if (source.remaining() != 0)
      return leftover_error(source.remaining());
    return {};
  }
}

/// The public face of the codec: values to bytes and back. Used by spilling
/// now and by transfers between processes later. Asking to encode a type
/// that has no encoding is a compile-time error that says what to add.
template <class T>
std::vector<char> encode(const T& x) {
  encoded_bytes e;
  if (auto err = encode_into(x, e))
    throw_encode_error(err);
  if (e.storage.empty() && e.size > 0)
    e.storage.assign(e.data, e.data + e.size);
  return std::move(e.storage);
}

/// Decodes bytes made by `encode<T>`; returns an error value on bad input.
template <class T>
value_error decode(std::span<const char> bytes, T& out) {
  return decode_from(byte_chunks{bytes}, bytes.size(), out);
}

// -- type-erased codec, captured when a value is sealed -----------------------

/// The encoder and decoder of one type behind function pointers, so the
/// store can spill and restore values whose type it no longer knows.
struct value_codec {
  /// "raw" or "caf" (CAF's binary format, value_inspector.hpp): written into
  /// spill headers, checked on restore.
  const char* kind;
  value_error (*encode)(const void* value, encoded_bytes& out);
  value_error (*decode)(const byte_chunks& chunks, size_t total, std::shared_ptr<const void>& out);
};

template <class T>
struct value_codec_impl {
  static value_error encode(const void* value, encoded_bytes& out) {
    return encode_into(*static_cast<const T*>(value), out);
  }
  static value_error decode(const byte_chunks& chunks, size_t total,
                            std::shared_ptr<const void>& out) {
    auto ptr = std::make_shared<T>();
    if (auto err = decode_from(chunks, total, *ptr))
      return err;
    out = std::shared_ptr<const T>{std::move(ptr)};
    return {};
  }
  static constexpr value_codec instance{is_raw_codable_v<T> ? "raw" : "caf", &encode, &decode};
};

/// The codec of `T`, or null if `T` cannot be rebuilt from bytes (such values
/// simply stay in memory).
template <class T>
const value_codec* codec_for() noexcept {
  if constexpr (is_decodable_v<T>)
    return &value_codec_impl<T>::instance;
  else
    return nullptr;
}

} // namespace manta::detail
