#pragma once

#include "manta/net/wire.hpp"
#include "manta/net/wire_fields.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

/// How every Cap'n Proto message from another process is read (the
/// wire_*.cpp files, node_state.cpp): within `current_decode_limits()`, and with an error
/// text instead of an exception. Included by .cpp files only: it needs the
/// generated code's headers.
namespace manta::detail::wire {

inline const char* const decode_hint = "; the peer may run another Manta version, or the "
                                       "bytes were cut or corrupted on the way";

/// The flat bytes of a built message.
inline bytes flatten(capnp::MessageBuilder& msg) {
  auto words = capnp::messageToFlatArray(msg);
  auto chars = words.asChars();
  return bytes(chars.begin(), chars.end());
}

/// A message builder whose first segment is memory the caller gives (zeroed,
/// word-aligned) and that leaves it as written when it goes: the flat bytes
/// of a one-segment message are then that memory itself, behind an 8-byte
/// segment table, with no copy (capnp's MallocMessageBuilder zeroes a given
/// first segment again in its destructor). Further segments are its own.
class in_place_builder final : public capnp::MessageBuilder {
public:
  explicit in_place_builder(kj::ArrayPtr<capnp::word> first) : first_(first) {}

  kj::ArrayPtr<capnp::word> allocateSegment(unsigned minimum) override {
    if (!gave_first_ && minimum <= first_.size()) {
      gave_first_ = true;
      return first_;
    }
    size_t words = std::max<size_t>(minimum, size_t{1024});
    more_.emplace_back(new capnp::word[words]()); // zeroed, as capnp wants
    return kj::arrayPtr(more_.back().get(), words);
  }

  /// Whether the message lies in the given memory alone.
  bool in_first_alone() {
    auto segments = getSegmentsForOutput();
    return segments.size() == 1 && segments[0].begin() == first_.begin();
  }

private:
  kj::ArrayPtr<capnp::word> first_;
  bool gave_first_ = false;
  std::vector<std::unique_ptr<capnp::word[]>> more_;
};

/// A message whose root, a `Root`, `fill(builder)` writes: its flat bytes,
/// built in place. `payload_bytes` is what its large fields (a value, the
/// arguments) will take: with that much room the whole message fits the
/// returned vector's memory as it is built, so each field's bytes are
/// written once (by `fill`) and never copied after; a message that
/// outgrows it is flattened (one copy).
template <class Root, class F>
bytes build(F&& fill, size_t payload_bytes = 0) {
  static_assert(std::endian::native == std::endian::little,
                "the segment table below is written in the host's byte order");
  constexpr size_t word = sizeof(capnp::word);
  // The fixed fields, names and texts besides the payload.
  size_t words = payload_bytes / word + 1 + 64;
  bytes out((words + 1) * word); // zeroed; the segment table, then the segment
  if (reinterpret_cast<uintptr_t>(out.data()) % alignof(capnp::word) != 0) {
    capnp::MallocMessageBuilder msg;
    fill(msg.initRoot<Root>());
    return flatten(msg);
  }
  in_place_builder msg{kj::arrayPtr(reinterpret_cast<capnp::word*>(out.data() + word), words)};
  fill(msg.initRoot<Root>());
  if (!msg.in_first_alone())
    return flatten(msg);
  // One segment: segment count - 1 (0), then its size in words.
  uint32_t table[2] = {0, static_cast<uint32_t>(msg.getSegmentsForOutput()[0].size())};
  std::memcpy(out.data(), table, sizeof(table));
  out.resize((1 + table[1]) * word); // shrinks in place
  return out;
}

/// Reads one `what` message from `in`, copying it first if it is not
/// word-aligned. `f` returns an error text for a well-formed message whose
/// content the runtime cannot accept.
template <class F>
std::string read(const char* what, std::span<const char> in, F&& f) {
  auto fail = [&](const std::string& why) {
    return std::string{"bad "} + what + " (" + std::to_string(in.size()) + " bytes): " + why;
  };
  auto limits = current_decode_limits();
  if (in.size() > limits.max_message_bytes)
    return fail("larger than the limit of " + std::to_string(limits.max_message_bytes)
                + " bytes (raise MANTA_MAX_MESSAGE_BYTES if this is intended)");
  if (in.empty() || in.size() % sizeof(capnp::word) != 0)
    return fail("not a whole number of 8-byte words, so not a Cap'n Proto message"
                + std::string{decode_hint});
  try {
    std::unique_ptr<capnp::word[]> copy;
    auto* data = reinterpret_cast<const capnp::word*>(in.data());
    if (reinterpret_cast<uintptr_t>(in.data()) % alignof(capnp::word) != 0) {
      copy.reset(new capnp::word[in.size() / sizeof(capnp::word)]);
      std::memcpy(copy.get(), in.data(), in.size());
      data = copy.get();
    }
    auto words = in.size() / sizeof(capnp::word);
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = words * limits.traversal_factor + 64;
    capnp::FlatArrayMessageReader reader{kj::arrayPtr(data, words), opts};
    if (reader.getEnd() != data + words)
      return fail(std::to_string(data + words - reader.getEnd())
                  + " words after the end of the message" + decode_hint);
    if (auto why = f(reader); !why.empty())
      return fail(why);
    return {};
  } catch (const kj::Exception& e) {
    return fail(std::string{"malformed Cap'n Proto: "} + e.getDescription().cStr() + decode_hint);
  }
}

/// Where bytes `d` that `reader` (reading `in` in `read`) returned lie in
/// `in` itself: `read` reads a word-aligned copy of a misaligned input,
/// which is gone when it returns, so a view into the message is moved back
/// onto the caller's bytes (the same offset from the segment table).
inline std::span<const char> view_in(std::span<const char> in, capnp::MessageReader& reader,
                                     kj::ArrayPtr<const kj::byte> d) {
  if (d.size() == 0)
    return {};
  uint32_t segments = 0;
  std::memcpy(&segments, in.data(), sizeof(segments)); // count - 1, little-endian
  size_t table_words = (size_t{segments} + 1 + 2) / 2;
  auto* base = reinterpret_cast<const char*>(reader.getSegment(0).begin() - table_words);
  return in.subspan(static_cast<size_t>(reinterpret_cast<const char*>(d.begin()) - base), d.size());
}

/// `read` of a message whose root is a `Root`: `f` takes the root's reader.
template <class Root, class F>
std::string read_root(const char* what, std::span<const char> in, F&& f) {
  return read(what, in, [&](capnp::MessageReader& reader) -> std::string {
    return f(reader.template getRoot<Root>());
  });
}

/// The bytes of message `x`, a `Root`, written by its `fields` list
/// (`build`, with room for `payload_bytes`).
template <class Root, class Message>
bytes encode_fields(const Message& x, size_t payload_bytes = 0) {
  return build<Root>([&](typename Root::Builder b) { write_fields(b, x); }, payload_bytes);
}

/// `read_root` of a `Root` into `out` by its `fields` list, which refuses
/// what a field's own bound forbids; `check(out)` then says what else in
/// it the runtime cannot accept (empty: nothing).
template <class Root, class Message, class Check>
std::string decode_fields(const char* what, std::span<const char> in, Message& out, Check&& check) {
  return read_root<Root>(what, in, [&](typename Root::Reader r) -> std::string {
    if (auto why = read_fields(r, out); !why.empty())
      return why;
    return check(out);
  });
}

template <class Root, class Message>
std::string decode_fields(const char* what, std::span<const char> in, Message& out) {
  return decode_fields<Root>(what, in, out, [](const Message&) { return std::string{}; });
}

/// Why these cannot be a demand's amounts (an empty name, an amount below
/// 0 or not finite), or empty (wire.cpp).
std::string check_resources(double cpus, const resource_map& custom);

} // namespace manta::detail::wire
