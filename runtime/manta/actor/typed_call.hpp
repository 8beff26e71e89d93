#pragma once

#include "manta/async.hpp"
#include "manta/actor/actor_call.hpp"
#include "manta/actor/actor_registry.hpp"
#include "manta/core/codec.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/actor/remote_invoker.hpp"
#include "manta/sched/task_args.hpp"

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
    (void)sizeof(H);
  };
  std::apply([&](const auto&... hs) { (one(hs), ...); }, args);
}

/// The type a held argument passes (what crosses nodes for it).
template <class H>
struct held_type;

template <class V>
struct held_type<value_arg<V>> {
  using type = V;
};

template <class U>
struct held_type<ref_arg<U>> {
  using type = U;
};

template <class H>
using held_t = typename held_type<H>::type;

template <class U>
struct sink_arg; // generator.hpp

/// What crosses nodes for a held argument: its value, or for a streaming
/// generator's sink the items it yields (the sink itself is never sent:
/// the node that runs the call makes its own).
template <class H>
struct wire_value {
  using type = held_t<H>;
};

template <class U>
struct wire_value<sink_arg<U>> {
  using type = U;
};

template <class H>
using wire_value_t = typename wire_value<H>::type;

/// Encodes an object argument's value (fetching it if it lives on another
/// node); throws if it has no codec or cannot be fetched.
std::vector<char> encode_object(const object_slot& slot);

/// Encodes held arguments in order (see actor_call::encode_args).
template <class... Holders>
void encode_held(const std::tuple<Holders...>& args, std::vector<std::vector<char>>& out) {
  out.clear();
  auto one = [&out](const auto& h) {
    if constexpr (requires { h.sink; })
      return; // a generator's sink: the other node makes its own
    else if constexpr (requires { h.ref; })
      out.push_back(encode_object(*h.ref.slot()));
    else
      out.push_back(encode(h.value));
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

  /// Whether its arguments and result can cross nodes.
  static constexpr bool travels = (is_decodable_v<wire_value_t<Holders>> && ...)
                                  && result_travels<typename call_result<R>::type>();

  bool remote_capable() const noexcept override { return travels; }

  std::string travel_blocker() const override {
    if (auto p = travel_problem<typename call_result<R>::type>(); !p.empty())
      return "the result's " + p;
    return first_travel_problem<wire_value_t<Holders>...>("argument");
  }

  const char* signature() const noexcept override { return typeid(M).name(); }


  uint64_t layout_hash() const noexcept override { return method_layout<M>::value().hash; }

  void encode_args(std::vector<std::vector<char>>& out) const override {
    if constexpr (travels)
      encode_held(args_, out);
    else
      actor_call::encode_args(out);
  }

  call_outcome decode_result(std::span<const char> bytes) const override {
    using V = typename call_result<R>::type;
    if constexpr (std::is_void_v<V>) {
      call_outcome out;
      out.type = &typeid(void);
      return out;
    } else if constexpr (travels) {
      V value;
      if (auto err = decode(bytes, value))
        return actor_call::decode_result(bytes); // names the failure
      return make_outcome(std::move(value));
    } else {
      return actor_call::decode_result(bytes);
    }
  }

  call_outcome take_result(std::vector<char>&& bytes) const override {
    if constexpr (std::is_same_v<typename call_result<R>::type, std::vector<char>>)
      return make_outcome(std::move(bytes)); // a byte vector is its own encoding
    else
      return decode_result(bytes);
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

protected:
  void release_held() noexcept override {
    std::apply([](auto&... hs) { (release_arg(hs), ...); }, args_);
  }

private:
  template <size_t... Is>
  R call(T* obj, std::index_sequence<Is...>) {
    return (obj->*method_)(std::get<Is>(args_).get()...);
  }

  M method_;
  std::tuple<Holders...> args_;

public:
  using holders = std::tuple<Holders...>;
};

template <class T, class... Holders>
class typed_ctor;

/// The constructor another node builds for `typed_ctor<T, Holders...>`:
/// the same argument types, all by value (the owner resolved the refs).
template <class T, class... Holders>
using wire_ctor_t = typed_ctor<T, value_arg<held_t<Holders>>...>;

/// Constructs a `T` from arguments held as `Holders`.
template <class T, class... Holders>
class typed_ctor final : public actor_ctor {
public:
  /// Whether its arguments can cross nodes.
  static constexpr bool travels = (is_decodable_v<held_t<Holders>> && ...);

  template <class... As>
  explicit typed_ctor(As&&... args) : args_{Holders{std::forward<As>(args)}...} {
    collect_deps(deps, args_);
    (void)registered_; // instantiates the registration below
  }

  std::shared_ptr<void> construct() override {
    return std::apply([](const auto&... hs) { return std::make_shared<T>(hs.get()...); }, args_);
  }

  bool remote_capable() const noexcept override { return travels; }

  std::string travel_blocker() const override {
    return first_travel_problem<held_t<Holders>...>("constructor argument");
  }

  const char* key() const noexcept override { return typeid(wire_ctor_t<T, Holders...>).name(); }

  void encode_args(std::vector<std::vector<char>>& out) const override {
    if constexpr (travels)
      encode_held(args_, out);
    else
      actor_ctor::encode_args(out);
  }

private:
  static std::unique_ptr<actor_ctor> from_wire(const wire_args& args) {
    return std::apply(
      [](auto&&... vs) { return std::make_unique<wire_ctor_t<T, Holders...>>(std::move(vs)...); },
      decode_wire_args<held_t<Holders>...>(args));
  }

  static bool register_remote() {
    if constexpr (travels)
      return register_actor_ctor(
        typeid(T), typeid(wire_ctor_t<T, Holders...>).name(), &from_wire,
        &layout_of_callable<void, held_t<Holders>...>,
        layout_detail::join({demangle(typeid(held_t<Holders>).name())...}));
    else
      return false;
  }

  /// Every binary that creates a `T` from these argument types can build
  /// one for another node: registered during static initialization.
  static inline const bool registered_ = register_remote();

  std::tuple<Holders...> args_;
};

template <class M>
struct method_wire;

template <class T, class R, class... Ps>
struct method_wire<R (T::*)(Ps...)> {
  using call = typed_call<T, R, R (T::*)(Ps...), value_arg<std::decay_t<Ps>>...>;
};

template <class T, class R, class... Ps>
struct method_wire<R (T::*)(Ps...) const> {
  using call = typed_call<T, R, R (T::*)(Ps...) const, value_arg<std::decay_t<Ps>>...>;
};

/// A streaming generator method (generator.hpp) keeps its sink first.
template <class T, class R, class U, class... Ps>
struct method_wire<R (T::*)(generator_sink<U>&, Ps...)> {
  using call = typed_call<T, R, R (T::*)(generator_sink<U>&, Ps...), sink_arg<U>,
                          value_arg<std::decay_t<Ps>>...>;
};

template <class T, class R, class U, class... Ps>
struct method_wire<R (T::*)(generator_sink<U>&, Ps...) const> {
  using call = typed_call<T, R, R (T::*)(generator_sink<U>&, Ps...) const, sink_arg<U>,
                          value_arg<std::decay_t<Ps>>...>;
};

template <class Call, class M, class... Vs>
std::shared_ptr<actor_call> call_from_wire(const method_info& m, const wire_args& args) {
  return std::apply(
    [&m](auto&&... vs) {
      return std::make_shared<Call>(m.name, method_pointer<M>(m), std::move(vs)...);
    },
    decode_wire_args<Vs...>(args));
}

template <class Call, class M, class... Holders>
call_factory call_factory_of(std::tuple<Holders...>*) noexcept {
  if constexpr (Call::travels)
    return &call_from_wire<Call, M, held_t<Holders>...>;
  else
    return nullptr;
}

/// A streaming generator method's call from another node: it gets a sink
/// of its own here, whose items go to the sender the node manager made
/// current while it builds the call (item_emitter_scope).
template <class Call, class M, class... Vs>
std::shared_ptr<actor_call> generator_call_from_wire(const method_info& m, const wire_args& args) {
  auto* emit = current_item_emitter();
  if (emit == nullptr)
    throw std::runtime_error("a streaming generator method was called from another node "
                             "without a way back to it");
  auto stream = std::make_shared<item_stream>();
  stream->emit_to(*emit);
  return std::apply(
    [&](auto&&... vs) {
      return std::make_shared<Call>(m.name, method_pointer<M>(m), std::move(stream),
                                    std::move(vs)...);
    },
    decode_wire_args<Vs...>(args));
}

template <class Call, class M, class U, class... Holders>
call_factory call_factory_of(std::tuple<sink_arg<U>, Holders...>*) noexcept {
  if constexpr (Call::travels)
    return &generator_call_from_wire<Call, M, held_t<Holders>...>;
  else
    return nullptr;
}

template <class M>
call_factory call_factory_for() noexcept {
  using call = typename method_wire<M>::call;
  return call_factory_of<call, M>(static_cast<typename call::holders*>(nullptr));
}

/// How a constructor argument of type `A` is kept: by value; a ref as
/// itself when `Keep` (a constructor takes an `object_ref<U>` there, as a
/// task's parameter of that type takes the ref unresolved), else as a ref
/// read when the constructor runs.
template <class A, bool Keep>
struct ctor_holder {
  using type = value_arg<A>;
};

template <class U>
struct ctor_holder<object_ref<U>, false> {
  using type = ref_arg<U>;
};

/// What a constructor argument of type `A`, kept as `ctor_holder` says,
/// passes to the constructor.
template <class A, bool Keep>
using ctor_param_t = const std::decay_t<
  decltype(std::declval<typename ctor_holder<std::decay_t<A>, Keep>::type>().get())>&;

template <class T, class Is, class... As>
struct ctor_choice;

/// How `actor<T>().remote(As...)` keeps its arguments. A class may have
/// several constructors, so overload resolution decides which refs are
/// passed as themselves, not one parameter list: every ref if a
/// constructor takes them so; else none if one takes them all resolved;
/// else each ref a constructor takes as itself with every other resolved.
template <class T, size_t... Is, class... As>
struct ctor_choice<T, std::index_sequence<Is...>, As...> {
  static constexpr bool all_kept = std::is_constructible_v<T, ctor_param_t<As, true>...>;
  static constexpr bool all_resolved = std::is_constructible_v<T, ctor_param_t<As, false>...>;

  template <size_t I>
  static constexpr bool keep =
    all_kept || (!all_resolved && std::is_constructible_v<T, ctor_param_t<As, Is == I>...>);

  /// Whether a constructor takes the arguments kept so.
  static constexpr bool constructible = std::is_constructible_v<T, ctor_param_t<As, keep<Is>>...>;

  using type = typed_ctor<T, typename ctor_holder<std::decay_t<As>, keep<Is>>::type...>;
};

/// The constructor (`typed_ctor`) of a `T` from arguments `As`.
template <class T, class... As>
using ctor_choice_t = ctor_choice<T, std::index_sequence_for<As...>, As...>;

} // namespace manta::detail
