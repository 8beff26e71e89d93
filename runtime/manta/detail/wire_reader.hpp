#pragma once

#include "manta/detail/wire.hpp"
#include "manta/detail/wire_fields.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

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

/// A message whose root, a `Root`, `fill(builder)` writes: its flat bytes.
template <class Root, class F>
bytes build(F&& fill) {
  capnp::MallocMessageBuilder msg;
  fill(msg.initRoot<Root>());
  return flatten(msg);
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

/// `read` of a message whose root is a `Root`: `f` takes the root's reader.
template <class Root, class F>
std::string read_root(const char* what, std::span<const char> in, F&& f) {
  return read(what, in, [&](capnp::MessageReader& reader) -> std::string {
    return f(reader.template getRoot<Root>());
  });
}

/// Why these cannot be a demand's amounts (an empty name, an amount below
/// 0 or not finite), or empty (wire.cpp).
std::string check_resources(double cpus, const resource_map& custom);

} // namespace manta::detail::wire
