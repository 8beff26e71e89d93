#pragma once

#include <caf/meta/type_name.hpp>

#include <memory>
#include <span>
#include <vector>

namespace manta::detail::wire {

/// Bytes a CAF message carries to another node without owning a copy of
/// them: the sender's shared, immutable buffer (a small task result, kept
/// in its slot on the worker), which CAF's serializer writes straight into
/// the connection's buffer. The receiver gets a buffer of its own (CAF
/// reads the bytes into it once). A TaskResult sent with its value beside
/// it in one (`result_atom`, the early answer: actors/hosted_results.cpp)
/// saves the copy of the value into the message's own bytes, and a
/// `std::vector<char>` result is those bytes (`take`). Registered as a
/// message type in `make_caf_config`.
struct shared_bytes {
  std::shared_ptr<const std::vector<char>> bytes;
  /// Read from a connection into a buffer of this process's own, which
  /// nothing else holds yet (`inspect`): `take` may move it out.
  bool received = false;

  std::span<const char> view() const noexcept {
    if (!bytes)
      return {};
    return {bytes->data(), bytes->size()};
  }

  /// The bytes as a vector of their own: the received buffer itself
  /// (moved, not copied) while nothing else shares it, else a copy. Once
  /// moved, `view` is empty.
  std::vector<char> take() const {
    if (!bytes)
      return {};
    if (received && bytes.use_count() == 1) {
      // Made as a mutable vector by `inspect`, held by nothing else.
      return std::move(const_cast<std::vector<char>&>(*bytes));
    }
    return *bytes;
  }
};

/// Written as a plain byte vector (its size, then the bytes); read into a
/// fresh one.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
  if constexpr (Inspector::reads_state) { // serializing, or to_string
    static const std::vector<char> none;
    // The inspector only reads through this reference (reads_state).
    auto& v = const_cast<std::vector<char>&>(x.bytes ? *x.bytes : none);
    return f(caf::meta::type_name("manta::shared_bytes"), v);
  } else {
    auto fresh = std::make_shared<std::vector<char>>();
    x.bytes = fresh;
    x.received = true;
    return f(caf::meta::type_name("manta::shared_bytes"), *fresh);
  }
}

} // namespace manta::detail::wire
