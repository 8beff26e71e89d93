#pragma once

#include "manta/sched/function_registry.hpp"
#include "manta/sched/typed_task.hpp"
#include "manta/object_ref.hpp"
#include "manta/task_options.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

/// Multiple return values (Ray's `num_returns`): a task or actor method
/// returning `std::tuple<A, B>` (or `std::pair<A, B>`) called as
/// `task(f).num_returns<2>().remote(x)` gives a
/// `std::tuple<object_ref<A>, object_ref<B>>`:
///
///     std::tuple<int, std::string> parse(std::string line);
///     MANTA_REMOTE(parse);
///     auto [n, rest] = manta::task(parse).num_returns<2>().remote("3 apples");
///     manta::get(n);   // 3, while `rest` may be dropped or passed on
///
/// Each ref is an object of its own: readable, passable to tasks on any
/// node and freed when its last ref goes, independently of the others. The
/// tuple itself lives only until every element is taken out of it (one
/// small task per element, holding no CPU, on the node that asked).
namespace manta {

namespace detail {

template <class T>
struct is_tuple_like : std::false_type {};
template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};

/// The task that takes element `I` out of a task's tuple result.
template <size_t I, class Tuple>
std::tuple_element_t<I, Tuple> return_element(const Tuple& whole) {
  return std::get<I>(whole);
}

/// Registers `return_element<I, Tuple>` like a MANTA_REMOTE function, when
/// the program starts (a worker node never runs the code that splits, but
/// runs the same binary) and again on first use; returns its registration.
template <size_t I, class Tuple>
struct return_element_fn {
  using fn_type = std::tuple_element_t<I, Tuple> (*)(const Tuple&);
  static const function_info& info() {
    fn_type fn = &return_element<I, Tuple>;
    register_function(reinterpret_cast<const void*>(fn),
                      "manta::return_element<" + std::to_string(I) + ", " + typeid(Tuple).name()
                        + ">",
                      typeid(*fn), invoker_for(fn), layout_fn_for(fn));
    return lookup_function(reinterpret_cast<const void*>(fn), typeid(*fn));
  }
  static inline const function_info* const registered = &info();
};

/// A ref to element `I` of the tuple `whole` will hold.
template <size_t I, class Tuple>
object_ref<std::tuple_element_t<I, Tuple>> return_ref(const object_ref<Tuple>& whole) {
  using E = std::tuple_element_t<I, Tuple>;
  using fn = return_element_fn<I, Tuple>;
  const auto& info = fn::registered != nullptr ? *fn::registered : fn::info();
  task_options opts;
  opts.name = "return " + std::to_string(I) + " of " + to_string(whole.id());
  opts.resources.cpus = 0; // never waits for a CPU behind other work
  using spec_type =
    typed_task<E, typename fn::fn_type, arg_holder_t<const Tuple&, const object_ref<Tuple>&>>;
  auto spec = std::make_shared<spec_type>(&return_element<I, Tuple>, info.name, opts, whole);
  return object_ref<E>{submit(std::move(spec))};
}

template <class Tuple, size_t... Is>
auto split_returns(const object_ref<Tuple>& whole, std::index_sequence<Is...>) {
  return std::make_tuple(return_ref<Is>(whole)...);
}

} // namespace detail

/// One ref per element of the tuple result `whole` (what `num_returns`
/// gives; usable on any ref to a tuple or pair).
template <class Tuple>
auto split(const object_ref<Tuple>& whole) {
  static_assert(detail::is_tuple_like<Tuple>::value,
                "manta::split: the ref must hold a std::tuple or std::pair");
  return detail::split_returns(whole, std::make_index_sequence<std::tuple_size_v<Tuple>>{});
}

/// A task or actor method prepared with `.num_returns<N>()`: its `.remote`
/// returns N refs, one per element of the tuple the function returns.
template <size_t N, class Builder>
class multi_return {
public:
  explicit multi_return(Builder b) : b_(std::move(b)) {} ///< Made by `num_returns<N>()`.

  /// Submits the call; returns `std::tuple<object_ref<A>, object_ref<B>, ...>`.
  template <class... As>
  auto remote(As&&... args) const {
    using whole_type = typename decltype(b_.remote(std::forward<As>(args)...))::value_type;
    static_assert(detail::is_tuple_like<whole_type>::value,
                  "manta: num_returns<N>() needs a function returning a std::tuple or "
                  "std::pair of N values");
    if constexpr (detail::is_tuple_like<whole_type>::value) {
      static_assert(std::tuple_size_v<whole_type> == N,
                    "manta: num_returns<N>(): N differs from the number of values in the "
                    "returned tuple");
      return split(b_.remote(std::forward<As>(args)...));
    }
  }

private:
  Builder b_;
};

} // namespace manta
