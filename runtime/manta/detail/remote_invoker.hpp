#pragma once

#include "manta/detail/codec.hpp"

#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

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
inline constexpr bool remote_invocable_v =
  result_travels<R>() && (is_decodable_v<std::decay_t<Ps>> && ...);

/// Decodes encoded arguments into values of types `Vs`; throws
/// `std::runtime_error` naming the first one that does not decode.
template <class... Vs>
std::tuple<Vs...> decode_wire_args(const std::vector<std::span<const char>>& args) {
  if (args.size() != sizeof...(Vs))
    throw std::runtime_error("got " + std::to_string(args.size())
                             + " encoded arguments for " + std::to_string(sizeof...(Vs))
                             + " parameters");
  std::tuple<Vs...> values;
  [&]<size_t... Is>(std::index_sequence<Is...>) {
    [[maybe_unused]] auto decode_one = [&](auto& out, std::span<const char> in, size_t i) {
      if (auto err = decode(in, out))
        throw std::runtime_error("argument " + std::to_string(i + 1)
                                 + " does not decode: " + error_text(err));
    };
    (decode_one(std::get<Is>(values), args[Is], Is), ...);
  }(std::index_sequence_for<Vs...>{});
  return values;
}

template <class R, class... Ps>
struct remote_invoker {
  static std::vector<char> invoke(const void* fn,
                                  const std::vector<std::span<const char>>& args) {
    auto values = decode_wire_args<std::decay_t<Ps>...>(args);
    auto f = reinterpret_cast<R (*)(Ps...)>(const_cast<void*>(fn));
    if constexpr (std::is_void_v<R>) {
      std::apply(f, values);
      return {};
    } else {
      return encode(std::apply(f, values));
    }
  }
};

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
