#pragma once

#include "manta/async.hpp"
#include "manta/detail/actor_call.hpp"
#include "manta/detail/actor_registry.hpp"
#include "manta/detail/task_args.hpp"

#include <memory>
#include <tuple>
#include <utility>

namespace manta::detail {

/// Collects the object arguments of a holder tuple into `deps`.
template <class... Holders>
void collect_deps(std::vector<slot_ptr>& deps, const std::tuple<Holders...>& args) {
  auto one = [&deps](const auto& h) {
    using H = std::decay_t<decltype(h)>;
    if constexpr (requires { h.ref; })
      deps.push_back(h.ref.slot());
    (void) sizeof(H);
  };
  std::apply([&](const auto&... hs) { (one(hs), ...); }, args);
}

/// A call of method `M` (returning `R`) on an instance of `T`, with its
/// arguments held as `Holders` (values, or refs read when the call runs).
template <class T, class R, class M, class... Holders>
class typed_call final : public actor_call {
public:
  template <class... As>
  typed_call(const std::string& method_name, M method, As&&... args)
    : actor_call(method_name), method_(method), args_{Holders{std::forward<As>(args)}...} {
    collect_deps(deps, args_);
  }

  call_outcome invoke(void* self, run_context ctx) noexcept override {
    auto* obj = static_cast<T*>(self);
    try {
      if constexpr (is_async<R>::value) {
        auto coro = call(obj, std::index_sequence_for<Holders...>{});
        auto h = coro.release();
        h.promise().ctx = std::move(ctx);
        h.resume(); // runs until its first co_await that has to wait
        call_outcome out;
        out.pending = true;
        return out;
      } else if constexpr (std::is_void_v<R>) {
        call(obj, std::index_sequence_for<Holders...>{});
        call_outcome out;
        out.type = &typeid(void);
        return out;
      } else {
        return make_outcome(call(obj, std::index_sequence_for<Holders...>{}));
      }
    } catch (...) {
      call_outcome out;
      out.error = std::current_exception();
      return out;
    }
  }

private:
  template <size_t... Is>
  R call(T* obj, std::index_sequence<Is...>) {
    return (obj->*method_)(std::get<Is>(args_).get()...);
  }

  M method_;
  std::tuple<Holders...> args_;
};

/// Constructs a `T` from arguments held as `Holders`.
template <class T, class... Holders>
class typed_ctor final : public actor_ctor {
public:
  template <class... As>
  explicit typed_ctor(As&&... args) : args_{Holders{std::forward<As>(args)}...} {
    collect_deps(deps, args_);
  }

  std::shared_ptr<void> construct() override {
    return std::apply([](const auto&... hs) { return std::make_shared<T>(hs.get()...); },
                      args_);
  }

private:
  std::tuple<Holders...> args_;
};

/// How a constructor argument of type `A` is kept: by value, or as a ref
/// read when the constructor runs.
template <class A>
using ctor_holder_t = arg_holder_t<std::decay_t<A>, A>;

/// What a constructor argument passes to the constructor.
template <class A>
using ctor_arg_t = const std::decay_t<decltype(std::declval<ctor_holder_t<A>>().get())>&;

} // namespace manta::detail
