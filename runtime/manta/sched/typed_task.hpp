#pragma once

#include "manta/sched/callable_layout.hpp"
#include "manta/core/codec.hpp"
#include "manta/actor/remote_invoker.hpp"
#include "manta/sched/task_args.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/store/value_size.hpp"

#include <tuple>
#include <typeinfo>
#include <utility>

namespace manta::detail {

/// Makes room in `slot`'s store for a task result of `size_bytes` (see
/// memory_budget::admit).
void admit_result(object_slot& slot, size_t size_bytes);

/// Nothing to do before a seal.
struct no_step {
  void operator()() const noexcept {}
};

/// Seals a freshly computed value into a slot; `before_seal` runs once the
/// value is copied out of `value` and admitted, just before the seal
/// (typed_task::run lets go of its arguments there, so the result may
/// refer into one of them).
/// Throws `object_store_full_error` if it does not fit in the node's memory
/// budget even after spilling.
template <class R, class Before = no_step>
void seal_result(object_slot& slot, R&& value, Before before_seal = {}) {
  using V = std::decay_t<R>;
  if constexpr (std::is_trivially_copyable_v<V> && sizeof(V) <= object_slot::inline_capacity
                && alignof(V) <= 16) {
    // Kept in the slot itself: no allocation for a small result.
    V copy = value;
    auto bytes = value_size(copy);
    admit_result(slot, bytes);
    before_seal();
    slot.seal_inline(std::addressof(copy), sizeof(V), typeid(V), bytes, codec_for<V>());
  } else {
    auto ptr = std::make_shared<const V>(std::forward<R>(value));
    auto bytes = value_size(*ptr);
    admit_result(slot, bytes);
    before_seal();
    slot.seal_value(std::move(ptr), typeid(V), bytes, codec_for<V>());
  }
}

/// Seals the "value" of a task returning void.
void seal_void(object_slot& slot);

template <class Fn>
struct fn_traits;

template <class R, class... Ps>
struct fn_traits<R (*)(Ps...)> {
  using params = std::tuple<std::decay_t<Ps>...>;
  static constexpr bool invocable = remote_invocable_v<R, Ps...>;
  static std::string travel_problem() { return signature_travel_problem<R, Ps...>(); }
};

/// A streaming generator (generator.hpp): the sink stays here, its items
/// and the other parameters travel.
template <class R, class U, class... Ps>
struct fn_traits<R (*)(generator_sink<U>&, Ps...)> {
  using params = std::tuple<generator_sink<U>, std::decay_t<Ps>...>;
  static constexpr bool invocable = std::is_void_v<R> && generator_invocable_v<U, Ps...>;
  static std::string travel_problem() {
    if (auto p = manta::detail::travel_problem<U>(); !p.empty())
      return "the items' " + p;
    return first_travel_problem<std::decay_t<Ps>...>("parameter after the sink");
  }
};

/// Whether a held argument reaches the other node as the parameter's type.
template <class P, class H>
struct holder_matches : std::true_type {};

template <class P, class U>
struct holder_matches<P, ref_arg<U>> : std::is_same<P, U> {};

template <class Params, class... Holders>
struct holders_match;

template <class... Ps, class... Holders>
struct holders_match<std::tuple<Ps...>, Holders...>
  : std::bool_constant<(holder_matches<Ps, Holders>::value && ...)> {
  /// Names the first object argument whose type is not its parameter's.
  static std::string problem() {
    std::string out;
    size_t n = 0;
    [[maybe_unused]] auto one = [&]<class P, class H>(std::type_identity<P>,
                                                      std::type_identity<H>) {
      ++n;
      if constexpr (!holder_matches<P, H>::value) {
        if (out.empty())
          out = "argument " + std::to_string(n) + " is an object_ref<"
                + demangle(typeid(decltype(std::declval<H>().get())).name()) + "> but parameter "
                + std::to_string(n) + " is '" + demangle(typeid(P).name())
                + "' (another node reads the bytes as the parameter's type; pass an "
                  "object_ref of exactly that type)";
      }
    };
    (one(std::type_identity<Ps>{}, std::type_identity<Holders>{}), ...);
    return out;
  }
};

/// A task calling `R fn(Ps...)` with arguments held as `Holders`.
template <class R, class Fn, class... Holders>
class typed_task final : public task_spec {
public:
  template <class... As>
  typed_task(Fn fn, const std::string& function_name, const task_options& opts, As&&... args)
    : task_spec(function_name, opts), fn_(fn), args_{Holders{std::forward<As>(args)}...} {
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
      // The task will not run again once its result is admitted: it lets
      // go of its arguments before the seal wakes anyone (release_args).
      if constexpr (std::is_void_v<R>) {
        call(std::index_sequence_for<Holders...>{});
        task_events::mark_ended(trace);
        release_args();
        seal_void(*result);
      } else {
        R value = call(std::index_sequence_for<Holders...>{});
        task_events::mark_ended(trace);
        seal_result(*result, std::move(value), [this]() noexcept { release_args(); });
      }
      return nullptr;
    } catch (...) {
      return std::current_exception();
    }
  }

  bool remote_capable() const noexcept override {
    if constexpr (fn_traits<Fn>::invocable)
      return holders_match<typename fn_traits<Fn>::params, Holders...>::value;
    else
      return false;
  }

  std::string travel_blocker() const override {
    if constexpr (!fn_traits<Fn>::invocable)
      return fn_traits<Fn>::travel_problem();
    else
      return holders_match<typename fn_traits<Fn>::params, Holders...>::problem();
  }

  const char* signature() const noexcept override {
    return typeid(std::remove_pointer_t<Fn>).name();
  }

  uint64_t layout_hash() const noexcept override { return layout_fn_for(Fn{})().hash; }

  void encode_args(std::vector<std::optional<std::vector<char>>>& out) const override {
    if constexpr (fn_traits<Fn>::invocable) {
      out.clear();
      auto one = [&out](const auto& h) {
        if constexpr (requires { h.sink; })
          return; // a generator's sink: the other node makes its own
        else if constexpr (requires { h.ref; })
          append_arg(out, std::nullopt);
        else
          append_arg(out, encode(h.value));
      };
      std::apply([&](const auto&... hs) { (one(hs), ...); }, args_);
    } else {
      task_spec::encode_args(out);
    }
  }

  void seal_encoded(std::span<const char> bytes) override {
    if constexpr (std::is_void_v<R>) {
      seal_void(*result);
    } else if constexpr (is_decodable_v<R>) {
      R value;
      if (auto err = decode(bytes, value)) {
        seal_decode_error(*result, name(), error_text(err));
        return;
      }
      try {
        seal_result(*result, std::move(value));
      } catch (...) {
        result->seal_error(std::current_exception());
      }
    } else {
      task_spec::seal_encoded(bytes);
    }
  }

  void seal_remote(std::shared_ptr<remote_object> obj, size_t encoded_size) override {
    if constexpr (std::is_void_v<R>)
      seal_void(*result);
    else if constexpr (is_decodable_v<R>)
      result->seal_remote(typeid(R), encoded_size, codec_for<R>(), std::move(obj));
    else
      task_spec::seal_remote(std::move(obj), encoded_size);
  }

protected:
  void release_held() noexcept override {
    std::apply([](auto&... hs) { (release_arg(hs), ...); }, args_);
  }

private:
  template <class H>
  void collect(const H&) {
    // nop: values (and a generator's sink) need no waiting
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
