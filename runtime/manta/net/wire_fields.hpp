#pragma once

#include "manta/net/wire.hpp"

#include <capnp/blob.h>
#include <capnp/list.h>
#include <kj/common.h>

#include <array>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

/// Each message's fields are listed once, in a `fields(f, x)` function
/// beside its encoder, as CAF's `inspect` lists a type's fields for every
/// inspector: `f(x.task_id, MANTA_WIRE_FIELD(TaskId))` pairs a member with
/// a schema field. `write_fields` applies the list to a generated Builder
/// and `read_fields` to a Reader, so encoder and decoder cannot disagree.
/// The member's type picks the wire form: numbers and bools as they are, an
/// enum as the schema's enum of the same codes, a std::string as Text (all
/// its bytes), a resource_map as List(Resource), a vector as a List (of
/// numbers, Text, Data or structs), and a struct with a `fields` list of its
/// own as a struct, a std::array as a List of exactly its size (another
/// size is an error naming the field). A member of another form (a bool for
/// an enum, a limit whose 0 means none) has an accessor with
/// `write(builder, value)` and `read(reader, value)`; a `read` that returns
/// a std::string refuses what it read when that text is not empty (the
/// decoder's error). The list's order is the order of the writes, which
/// places the texts and lists in the message (tests/wire_format_test.cpp
/// pins the bytes).
/// Included by .cpp files only: the callers pass the generated builders.
namespace manta::detail::wire {

/// Schema field `Name`'s setter, initializer and getter, for whichever
/// generated Builder or Reader of a struct that has the field they get.
#define MANTA_WIRE_FIELD(Name)                                             \
  ::manta::detail::wire::field_access {                                    \
    [](auto&& b, auto&& v) { b.set##Name(std::forward<decltype(v)>(v)); }, \
      [](auto&& b, auto... n) { return b.init##Name(n...); },              \
      [](auto&& r) { return r.get##Name(); }, #Name                        \
  }

/// `name`: the schema field's name as its accessors spell it ("TaskId"),
/// for an inspector that writes another format (series.cpp's JSON).
template <class Set, class Init, class Get>
struct field_access {
  Set set;
  Init init;
  Get get;
  const char* name;
};

template <class Set, class Init, class Get>
field_access(Set, Init, Get, const char*) -> field_access<Set, Init, Get>;

/// Bytes as a schema's Data.
inline kj::ArrayPtr<const kj::byte> as_data(std::span<const char> s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

/// A string as a schema's Text, all of its bytes.
inline capnp::Text::Reader as_text(const std::string& s) {
  return {s.data(), s.size()};
}

/// The room byte blobs take in a message (`build`'s payload): each padded
/// to a word, plus its list pointer.
inline size_t blobs_bytes(const std::vector<bytes>& blobs) {
  size_t n = 0;
  for (auto& b : blobs)
    n += b.size() + 16;
  return n;
}

/// A schema's List(Resource) from a resource map, and back.
template <class Builder>
void set_resources(Builder&& list, const resource_map& rs) {
  unsigned i = 0;
  for (auto& [name, amount] : rs) {
    list[i].setName(name);
    list[i].setAmount(amount);
    ++i;
  }
}

template <class Reader>
resource_map get_resources(Reader&& list) {
  resource_map out;
  for (auto r : list)
    out[r.getName().cStr()] = r.getAmount();
  return out;
}

template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;
template <class T>
inline constexpr bool is_array = false;
template <class T, size_t N>
inline constexpr bool is_array<std::array<T, N>> = true;

/// A field's name as the schema spells it ("taskCounts"), from its
/// accessors' ("TaskCounts"): what a decoder's error names.
inline std::string schema_name(const char* accessor_name) {
  std::string out{accessor_name};
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z')
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

template <class Builder, class Message>
void write_fields(Builder b, const Message& x);
template <class Reader, class Message>
std::string read_fields(Reader r, Message& x);

/// A schema's List from a vector of numbers, texts, byte blobs or structs
/// with a `fields` list, and back.
template <class List, class E>
void write_list(List list, const std::vector<E>& v) {
  for (unsigned i = 0; i < v.size(); ++i) {
    if constexpr (std::is_arithmetic_v<E>)
      list.set(i, v[i]);
    else if constexpr (std::is_same_v<E, std::string>)
      list.set(i, as_text(v[i]));
    else if constexpr (std::is_same_v<E, bytes>)
      list.set(i, as_data(v[i]));
    else
      write_fields(list[i], v[i]);
  }
}

/// The list's size is within the message's traversal limit (`read`), which
/// Cap'n Proto checked when the list was got, so room for it is reserved.
/// Empty, or why an element's fields were refused.
template <class List, class E>
std::string read_list(List list, std::vector<E>& v) {
  v.clear();
  v.reserve(list.size());
  for (auto e : list) {
    if constexpr (std::is_arithmetic_v<E>) {
      v.push_back(e);
    } else if constexpr (std::is_same_v<E, std::string>) {
      v.emplace_back(e.begin(), e.size());
    } else if constexpr (std::is_same_v<E, bytes>) {
      v.emplace_back(reinterpret_cast<const char*>(e.begin()),
                     reinterpret_cast<const char*>(e.end()));
    } else if (auto why = read_fields(e, v.emplace_back()); !why.empty()) {
      return "entry " + std::to_string(v.size() - 1) + ": " + why;
    }
  }
  return {};
}

/// The inspector `write_fields` hands a message's `fields`.
template <class Builder>
struct field_writer {
  Builder b;

  template <class T, class Access>
  void operator()(const T& v, const Access& a) {
    if constexpr (requires { a.write(b, v); })
      a.write(b, v);
    else if constexpr (std::is_arithmetic_v<T>)
      a.set(b, v);
    else if constexpr (std::is_enum_v<T>) // the schema's enum of the same codes
      a.set(b, static_cast<decltype(a.get(b.asReader()))>(v));
    else if constexpr (std::is_same_v<T, std::string>)
      a.set(b, as_text(v));
    else if constexpr (std::is_same_v<T, resource_map>)
      set_resources(a.init(b, static_cast<unsigned>(v.size())), v);
    else if constexpr (is_vector<T>)
      write_list(a.init(b, static_cast<unsigned>(v.size())), v);
    else if constexpr (is_array<T>)
      write_array(a.init(b, static_cast<unsigned>(v.size())), v);
    else
      write_fields(a.init(b), v);
  }

  template <class List, class E, size_t N>
  static void write_array(List list, const std::array<E, N>& v) {
    for (unsigned i = 0; i < N; ++i)
      list.set(i, v[i]);
  }
};

/// The inspector `read_fields` hands a message's `fields`. `why`: the
/// first field's refusal (the fields after it are not read).
template <class Reader>
struct field_reader {
  Reader r;
  std::string why;

  template <class T, class Access>
  void operator()(T& v, const Access& a) {
    if (!why.empty())
      return;
    if constexpr (requires { a.read(r, v); }) {
      if constexpr (std::is_void_v<decltype(a.read(r, v))>)
        a.read(r, v);
      else
        why = a.read(r, v);
    } else if constexpr (std::is_arithmetic_v<T>) {
      v = a.get(r);
    } else if constexpr (std::is_enum_v<T>) {
      v = static_cast<T>(a.get(r));
    } else if constexpr (std::is_same_v<T, std::string>) {
      auto t = a.get(r);
      v.assign(t.begin(), t.size());
    } else if constexpr (std::is_same_v<T, resource_map>) {
      v = get_resources(a.get(r));
    } else if constexpr (is_vector<T>) {
      if (auto e = read_list(a.get(r), v); !e.empty())
        why = schema_name(a.name) + ": " + e;
    } else if constexpr (is_array<T>) {
      auto list = a.get(r);
      if (list.size() != v.size()) {
        why = schema_name(a.name) + " has " + std::to_string(list.size()) + " entries, not "
              + std::to_string(v.size());
        return;
      }
      for (unsigned i = 0; i < v.size(); ++i)
        v[i] = list[i];
    } else if (auto e = read_fields(a.get(r), v); !e.empty()) {
      why = schema_name(a.name) + ": " + e;
    }
  }
};

/// Writes `x`'s fields (its `fields` function) into `b`. The list takes a
/// mutable message, as CAF's `inspect` does; the writer only reads it.
template <class Builder, class Message>
void write_fields(Builder b, const Message& x) {
  fields(field_writer<Builder>{b}, const_cast<Message&>(x));
}

/// Reads `x`'s fields from `r`, replacing what it held: empty, or why a
/// field was refused (naming it).
template <class Reader, class Message>
std::string read_fields(Reader r, Message& x) {
  field_reader<Reader> reader{r, {}};
  fields(reader, x);
  return std::move(reader.why);
}

/// What a TaskSpec and an ActorSpec (`x`: a task_message or an
/// actor_message) both carry: the encoded arguments, the demand, which
/// exceptions are retried and whose code runs.
template <class F, class Message>
void run_fields(F&& f, Message& x) {
  f(x.args, MANTA_WIRE_FIELD(Args));
  f(x.demand.cpus, MANTA_WIRE_FIELD(NumCpus));
  f(x.demand.custom, MANTA_WIRE_FIELD(Resources));
  f(x.retry_exceptions, MANTA_WIRE_FIELD(RetryExceptions));
  f(x.retry_exception_types, MANTA_WIRE_FIELD(RetryExceptionTypes));
  f(x.job_id, MANTA_WIRE_FIELD(JobId));
  f(x.code, MANTA_WIRE_FIELD(CodeSearchPath));
}

} // namespace manta::detail::wire
