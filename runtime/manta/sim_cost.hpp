#pragma once

#include "manta/core/codec.hpp"
#include "manta/core/demangle.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/errors.hpp"
#include "manta/simulation.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

/// A task's virtual run time as a function of its arguments, in a
/// simulation (docs/simulation.md):
///
///   manta::sim::set_cost("train_step", [](const std::vector<double>& w, int rows) {
///     return rows * 20us;
///   });
///
/// The function is called when the task arrives at its virtual node, with
/// the task's arguments as its parameters' types (values given by value
/// are decoded from the encoding they would travel in; object arguments
/// are read from the store), so the same arguments give the same time.
namespace manta::detail {

/// The cost of one task, from its spec: set by `sim::set_cost`.
using sim_cost_fn = std::function<std::chrono::nanoseconds(const task_spec&)>;

/// Sets `function`'s cost model to `fn` (simulation.cpp).
void sim_set_cost_fn(const std::string& function, sim_cost_fn fn);

/// The parameters of a lambda's call operator, as values.
template <class M>
struct sim_member_params;

template <class C, class R, class... As>
struct sim_member_params<R (C::*)(As...) const> {
  using type = std::tuple<std::decay_t<As>...>;
};

template <class C, class R, class... As>
struct sim_member_params<R (C::*)(As...)> {
  using type = std::tuple<std::decay_t<As>...>;
};

/// The parameters of a cost function (a lambda or a function pointer), as
/// values.
template <class F>
struct sim_cost_params {
  using type = typename sim_member_params<decltype(&F::operator())>::type;
};

template <class R, class... As>
struct sim_cost_params<R (*)(As...)> {
  using type = std::tuple<std::decay_t<As>...>;
};

/// Reads `t`'s arguments as `Ps...`: arguments given by value are decoded
/// from their encoding, object arguments copied from their slots. Throws an
/// error naming the task when the count or a type does not match.
template <class... Ps>
std::tuple<Ps...> sim_read_args(const task_spec& t) {
  std::vector<std::optional<std::vector<char>>> encoded;
  try {
    t.encode_args(encoded);
  } catch (const std::exception& e) {
    throw invalid_argument_error("manta sim: the cost function of '" + t.name()
                                 + "' cannot read its arguments (" + e.what()
                                 + "); give it a declared duration instead");
  }
  if (encoded.size() != sizeof...(Ps))
    throw invalid_argument_error("manta sim: the cost function of '" + t.name() + "' takes "
                                 + std::to_string(sizeof...(Ps)) + " argument(s) but the task has "
                                 + std::to_string(encoded.size())
                                 + "; give it the task's parameters");
  std::tuple<Ps...> out;
  size_t next_dep = 0;
  auto one = [&]<size_t I>(std::integral_constant<size_t, I>) {
    using P = std::tuple_element_t<I, std::tuple<Ps...>>;
    auto& slot_bytes = encoded[I];
    auto what = "argument " + std::to_string(I + 1) + " of '" + t.name() + "'";
    if (slot_bytes) {
      if (auto err = decode(std::span<const char>{*slot_bytes}, std::get<I>(out)))
        throw invalid_argument_error("manta sim: the cost function cannot read " + what + " as '"
                                     + demangle(typeid(P).name()) + "': " + error_text(err));
      return;
    }
    if (next_dep >= t.deps.size())
      throw invalid_argument_error("manta sim: " + what + " is an object the task does not hold");
    auto& slot = *t.deps[next_dep++];
    if (!slot.done() || slot.failed() || slot.type() != typeid(P))
      throw invalid_argument_error("manta sim: the cost function takes " + what + " as '"
                                   + demangle(typeid(P).name())
                                   + "', but the object is not one (or not sealed)");
    std::get<I>(out) = slot.template copy_as<P>();
  };
  [&]<size_t... Is>(std::index_sequence<Is...>) {
    (one(std::integral_constant<size_t, Is>{}), ...);
  }(std::index_sequence_for<Ps...>{});
  return out;
}

template <class Tuple>
struct sim_arg_reader;

template <class... Ps>
struct sim_arg_reader<std::tuple<Ps...>> {
  static std::tuple<Ps...> read(const task_spec& t) { return sim_read_args<Ps...>(t); }
};

} // namespace manta::detail

namespace manta::sim {

/// The virtual run time of each task of `function` from now on: `cost`
/// called with the task's arguments (its parameters are the task's, taken
/// by value or const reference; it returns a duration).
template <class F>
  requires(!std::is_same_v<std::decay_t<F>, sim_cost>)
void set_cost(const std::string& function, F cost) {
  using params = typename detail::sim_cost_params<std::decay_t<F>>::type;
  detail::sim_set_cost_fn(function, [cost = std::move(cost)](const detail::task_spec& t) {
    return std::apply([&](const auto&... xs) { return std::chrono::nanoseconds{cost(xs...)}; },
                      detail::sim_arg_reader<params>::read(t));
  });
}

} // namespace manta::sim
