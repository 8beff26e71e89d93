#pragma once

#include "manta/detail/codec.hpp"
#include "manta/detail/task_args.hpp"
#include "manta/detail/task_spec.hpp"
#include "manta/detail/value_size.hpp"

#include <tuple>
#include <typeinfo>
#include <utility>

namespace manta::detail {

/// Makes room for a task result of `size_bytes` (see memory_budget::admit).
void admit_result(size_t size_bytes);

/// Seals a freshly computed value into a slot.
/// Throws `object_store_full_error` if it does not fit in the node's memory
/// budget even after spilling.
template <class R>
void seal_result(object_slot& slot, R&& value) {
  using V = std::decay_t<R>;
  auto ptr = std::make_shared<const V>(std::forward<R>(value));
  auto bytes = value_size(*ptr);
  admit_result(bytes);
  slot.seal_value(std::move(ptr), typeid(V), bytes, codec_for<V>());
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
    // Ref arguments stay pinned in memory while the function runs.
    struct unpin_args {
      std::tuple<Holders...>& args;
      ~unpin_args() {
        auto release = [](auto& h) {
          if constexpr (requires { h.unpin(); })
            h.unpin();
        };
        std::apply([&](auto&... hs) { (release(hs), ...); }, args);
      }
    } unpin{args_};
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
