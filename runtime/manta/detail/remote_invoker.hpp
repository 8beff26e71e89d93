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

template <class R, class... Ps>
struct remote_invoker {
  static std::vector<char> invoke(const void* fn,
                                  const std::vector<std::span<const char>>& args) {
    if (args.size() != sizeof...(Ps))
      throw std::runtime_error("got " + std::to_string(args.size())
                               + " encoded arguments for a function of "
                               + std::to_string(sizeof...(Ps)) + " parameters");
    return call(reinterpret_cast<R (*)(Ps...)>(const_cast<void*>(fn)), args,
                std::index_sequence_for<Ps...>{});
  }

private:
  template <size_t... Is>
  static std::vector<char> call(R (*f)(Ps...), const std::vector<std::span<const char>>& args,
                                std::index_sequence<Is...>) {
    std::tuple<std::decay_t<Ps>...> values;
    [[maybe_unused]] auto decode_one = [&](auto& out, std::span<const char> in, size_t i) {
      if (auto err = decode(in, out))
        throw std::runtime_error("argument " + std::to_string(i + 1)
                                 + " does not decode: " + error_text(err));
    };
    (decode_one(std::get<Is>(values), args[Is], Is), ...);
    if constexpr (std::is_void_v<R>) {
      f(std::get<Is>(values)...);
      return {};
    } else {
      return encode(f(std::get<Is>(values)...));
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
