#pragma once

#include "manta/core/type_layout.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace manta::detail {

/// The layouts of a function's (method's, constructor's) parameter and
/// result types: what two binaries must agree on, beyond the name and the
/// mangled signature, for one to decode what the other encodes.
struct callable_layout {
  /// One layout per parameter, in order (decayed: `const point&` is `point`).
  std::vector<std::string> params;
  /// The result's layout, "void" for none.
  std::string result;
  /// Of params and result, never 0 (0 means "not given" in a TaskSpec):
  /// what every call carries so the callee can check it.
  uint64_t hash = 0;

  /// "(int32, point{int32, float32}) -> float64".
  std::string to_string() const;
};

/// How a registry gets a callable's layouts when it needs them (at join,
/// not during static initialization, where `MANTA_REMOTE` runs and user
/// types may not be usable yet).
using layout_fn = const callable_layout& (*)();

/// FNV-1a: stable across processes and builds, unlike `std::hash`.
uint64_t fnv1a(std::string_view bytes, uint64_t h = 0xcbf29ce484222325ULL) noexcept;

/// Fills in `hash`. Takes a list, not a vector: the vector is built here,
/// not in every file that registers a function.
callable_layout make_callable_layout(std::initializer_list<std::string> params, std::string result);

template <class R>
std::string result_layout() {
  if constexpr (std::is_void_v<R>)
    return "void";
  else
    return layout_of<R>();
}

/// The layouts of `R(Ps...)`, computed on first use.
template <class R, class... Ps>
const callable_layout& layout_of_callable() {
  static const callable_layout x = make_callable_layout({layout_of<std::decay_t<Ps>>()...},
                                                        result_layout<R>());
  return x;
}

template <class R, class... Ps>
layout_fn layout_fn_for(R (*)(Ps...)) noexcept {
  return &layout_of_callable<R, Ps...>;
}

} // namespace manta::detail
