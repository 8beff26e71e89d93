#pragma once

#include "manta/detail/task_args.hpp"
#include "manta/detail/task_spec.hpp"
#include "manta/detail/value_size.hpp"

#include <tuple>
#include <typeinfo>
#include <utility>

namespace manta::detail {

/// Seals a freshly computed value into a slot.
template <class R>
void seal_result(object_slot& slot, R&& value) {
  using V = std::decay_t<R>;
  auto ptr = std::make_shared<const V>(std::forward<R>(value));
  auto bytes = value_size(*ptr);
  slot.seal_value(std::move(ptr), typeid(V), bytes);
}

/// Seals the "value" of a task returning void.
void seal_void(object_slot& slot);

/// A task calling `R fn(Ps...)` with arguments held as `Holders`.
template <class R, class Fn, class... Holders>
class typed_task final : public task_spec {
public:
  template <class... As>
  typed_task(Fn fn, const std::string& function_name, task_options opts,
             As&&... args)
    : task_spec(function_name, std::move(opts)),
      fn_(fn),
      args_{Holders{std::forward<As>(args)}...} {
    std::apply([this](auto&... hs) { (collect(hs), ...); }, args_);
  }

  std::exception_ptr run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        call(std::index_sequence_for<Holders...>{});
        seal_void(*result);
      } else {
        seal_result(*result, call(std::index_sequence_for<Holders...>{}));
      }
      return nullptr;
    } catch (...) {
      return std::current_exception();
    }
  }

private:
  template <class V>
  void collect(const value_arg<V>&) {
    // nop: values need no waiting
  }

  template <class U>
  void collect(const ref_arg<U>& h) {
    deps.push_back(h.ref.slot());
  }

  template <size_t... Is>
  R call(std::index_sequence<Is...>) {
    return fn_(std::get<Is>(args_).get()...);
  }

  Fn fn_;
  std::tuple<Holders...> args_;
};

} // namespace manta::detail
