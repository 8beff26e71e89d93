#pragma once

#include "manta/cancel.hpp"
#include "manta/errors.hpp"
#include "manta/object_ref.hpp"
#include "manta/sched/next_iterator.hpp"
#include "manta/sched/function_registry.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/sched/task_args.hpp"
#include "manta/actor/typed_call.hpp"
#include "manta/sched/typed_task.hpp"
#include "manta/put.hpp"
#include "manta/task_options.hpp"

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

/// Streaming generators (Ray's `num_returns="streaming"`): a remote function
/// or actor method whose first parameter is a `generator_sink<T>&` yields
/// values one by one, and its caller gets an `object_ref_generator<T>` that
/// hands out one `object_ref<T>` per value, in order, as soon as each is
/// yielded:
///
///     void count_to(manta::generator_sink<int>& out, int n) {
///       for (int i = 0; i < n; ++i)
///         out.yield(i);
///     }
///     MANTA_REMOTE(count_to);
///
///     for (manta::object_ref<int> ref : manta::task(count_to).remote(5))
///       std::cout << manta::get(ref);   // 0 1 2 3 4, each as soon as yielded
///
/// The caller passes the other arguments only (`.remote(5)`); the runtime
/// gives the function its sink. Each item is an object of its own, freed
/// when its last ref goes. An exception thrown by the producer after k
/// items reaches the caller as item k (a ref whose `get` throws it; items
/// 0..k-1 stay readable), and the stream ends there. `cancel()` on the
/// generator (or dropping it before its end) stops the producer at its next
/// `yield`.
///
/// Back pressure (Ray's `_generator_backpressure_num_objects`):
/// `task(f).generator_backpressure(n)` (or the same on an actor method's
/// `call`) lets at most `n` items be yielded and not yet taken by `next()`;
/// a `yield` past that parks the producer's thread (its CPUs lent, as in a
/// blocked `get`; no spinning) until the caller takes one, on one node or
/// across nodes (the caller's node acks what it took). Without it the
/// producer never waits, and a fast producer's unread items stay in the
/// store.
namespace manta {

template <class T>
class generator_sink;

namespace detail {

/// The sink a generator task or call gets for its first parameter: made by
/// the caller with the stream, kept in the spec for retries.
template <class U>
struct sink_arg {
  explicit sink_arg(std::shared_ptr<item_stream> stream) : sink(std::move(stream)) {}
  mutable generator_sink<U> sink;
  /// A run starts: the items an earlier run delivered are not repeated.
  generator_sink<U>& get() const noexcept {
    sink.stream_->begin_run();
    return sink;
  }
};

} // namespace detail

/// Where a streaming generator puts its values: `out.yield(v)` stores `v` as
/// an object of its own and hands its ref to the caller at once.
template <class T>
class generator_sink {
public:
  using value_type = T; ///< The type of the values yielded.

  /// Stores `value` and makes it the caller's next item. Throws
  /// `task_cancelled_error` once the caller cancelled or dropped the
  /// stream (let it propagate: the producer stops here), and
  /// `object_store_full_error` as `put` does, and what encoding `value`
  /// for a caller on another node throws (that item is not delivered: the
  /// producer's error, or its next item if it goes on, takes its place,
  /// and the refs written into it are let go). After a retry (`max_retries`
  /// with `retry_exceptions`, or an actor's restart) the items the failed
  /// run already yielded are skipped, not delivered twice.
  template <class U = T>
  void yield(U&& value, std::source_location origin = std::source_location::current()) {
    static_assert(std::is_constructible_v<T, U&&>,
                  "manta: generator_sink<T>::yield: the value does not convert to T");
    if (manta::cancelled())
      throw task_cancelled_error("manta: the generator was cancelled; the producer stops "
                                 "at this yield");
    if (!stream_->admit_next())
      return; // delivered by an earlier run of this producer
    if constexpr (detail::is_decodable_v<T>) {
      if (stream_->emits()) { // running for an owner on another node
        std::vector<char> bytes;
        try {
          bytes = detail::encode(T(std::forward<U>(value)));
        } catch (...) {
          stream_->item_unsent(); // its refs go; the error takes its place
          throw;
        }
        stream_->emit(std::move(bytes));
        return;
      }
    }
    stream_->push(manta::put(T(std::forward<U>(value)), origin).slot());
  }

  // -- runtime internals ------------------------------------------------------

  explicit generator_sink(std::shared_ptr<detail::item_stream> stream) noexcept
    : stream_(std::move(stream)) {} ///< Internal: made for the producer's run.

private:
  template <class U>
  friend struct detail::sink_arg;
  std::shared_ptr<detail::item_stream> stream_;
};

/// The caller's side of a streaming generator: the refs to its items in
/// the order they were yielded, each handed out once, as soon as it exists.
/// Move-only. Dropping it before the end stops the producer at its next
/// yield (nobody could read the rest).
template <class T>
class object_ref_generator {
public:
  object_ref_generator() = default; ///< Empty: `next()` returns nullopt.

  /// Runtime internals: made by `.remote()` of a generator function.
  explicit object_ref_generator(std::shared_ptr<detail::item_stream> stream)
    : stream_(std::move(stream)) {}

  object_ref_generator(object_ref_generator&&) noexcept = default; ///< Moves the stream.
  /// Drops the stream held now (see the destructor), takes `other`'s.
  object_ref_generator& operator=(object_ref_generator&& other) noexcept {
    if (this != &other) {
      release();
      stream_ = std::move(other.stream_);
    }
    return *this;
  }
  object_ref_generator(const object_ref_generator&) = delete;
  object_ref_generator& operator=(const object_ref_generator&) = delete;

  /// Stops the producer if the stream did not end yet.
  ~object_ref_generator() { release(); }

  /// The next item, waiting as long as it takes; nullopt at the end of the
  /// stream. The ref is ready: `get` on it returns the value at once, or
  /// throws the producer's error for the item where it failed.
  std::optional<object_ref<T>> next() {
    return take(detail::item_stream::clock::time_point::max());
  }

  /// Like `next()`, waiting at most `timeout`: nullopt when no item came
  /// by then, or at the end (`finished()` tells which).
  template <class Rep, class Period>
  std::optional<object_ref<T>> next(std::chrono::duration<Rep, Period> timeout) {
    auto now = detail::item_stream::clock::now();
    auto cap = detail::item_stream::clock::time_point::max() - now;
    auto d = std::chrono::duration_cast<detail::item_stream::clock::duration>(timeout);
    return take(d >= cap ? detail::item_stream::clock::time_point::max() : now + d);
  }

  /// True once every item (and the producer's error, if it failed) was
  /// handed out: `next()` returns nullopt from now on.
  bool finished() const { return !stream_ || stream_->finished(); }

  /// Cancels the producer (as `manta::cancel` does a task or call): one not
  /// started never runs, a running one stops at its next yield. Items
  /// already yielded stay readable; the next item after them is
  /// `task_cancelled_error`.
  void cancel(const cancel_options& opts = {}) {
    if (stream_)
      detail::cancel(stream_->done(), opts);
  }

  /// Reads the items with a range-for; each step blocks until the next
  /// item exists.
  using iterator = detail::next_iterator<object_ref_generator, object_ref<T>>;

  iterator begin() { return iterator{this}; } ///< Waits for the first item.
  iterator end() { return {}; }               ///< Past the last item.

private:
  std::optional<object_ref<T>> take(detail::item_stream::clock::time_point deadline) {
    if (!stream_)
      return std::nullopt;
    if (auto slot = stream_->next(deadline))
      return object_ref<T>{std::move(slot)};
    return std::nullopt;
  }

  void release() noexcept {
    if (!stream_ || stream_->finished())
      return;
    stream_->abandon();
    try {
      detail::cancel(stream_->done());
    } catch (...) {
      // the runtime is gone: the producer was stopped with it
    }
  }

  std::shared_ptr<detail::item_stream> stream_;
};

namespace detail {

/// Makes the stream of a generator about to be submitted; `submit` gives
/// back the producer's result slot (the spec holds the stream's sink).
template <class U, class Submit>
object_ref_generator<U> start_generator(uint64_t window, Submit&& submit) {
  auto stream = std::make_shared<item_stream>();
  stream->set_window(window);
  stream->watch(submit(stream));
  if constexpr (is_decodable_v<U>) {
    // Large items stay on the producer's node, read like a large result.
    stream->item_type = &typeid(U);
    stream->item_codec = codec_for<U>();
    // The producer may run on another node: its items come back encoded.
    stream->decode_item = [](std::span<const char> bytes) {
      U value;
      if (auto err = decode(bytes, value))
        throw error("a generator's item from another node does not decode: " + error_text(err)
                    + "; do both nodes run the same binary?");
      return manta::put(std::move(value)).slot();
    };
    item_stream::enroll(stream);
  }
  return object_ref_generator<U>{std::move(stream)};
}

/// Runs a generator function another node sent here: decodes the
/// arguments after the sink and gives it a sink whose yields go back to
/// the owner (remote_task::emit_item).
template <class U, class... Ps>
struct generator_invoker {
  static std::vector<char> invoke(const void* fn, const std::vector<std::span<const char>>& args) {
    auto values = decode_wire_args<std::decay_t<Ps>...>(args);
    auto f = reinterpret_cast<void (*)(generator_sink<U>&, Ps...)>(const_cast<void*>(fn));
    auto* emit = current_item_emitter();
    if (emit == nullptr)
      throw error("a streaming generator ran for another node without a way back to it");
    auto stream = std::make_shared<item_stream>();
    stream->emit_to(*emit);
    generator_sink<U> sink{stream};
    std::apply([&](auto&... vs) { f(sink, vs...); }, values);
    return {};
  }
};

/// What a generator's sink argument passes: nothing that crosses nodes.
template <class U>
struct held_type<sink_arg<U>> {
  using type = generator_sink<U>;
};

/// Whether a function pointer is a streaming generator, and how to submit
/// it as a task (task_builder::remote).
template <class Fn>
struct generator_fn : std::false_type {};

template <class R, class U, class... Ps>
struct generator_fn<R (*)(generator_sink<U>&, Ps...)> : std::true_type {
  using fn_type = R (*)(generator_sink<U>&, Ps...);

  template <class... As>
  static object_ref_generator<U> submit_task(fn_type fn, const function_info& info,
                                             const task_options& opts, uint64_t window,
                                             As&&... args) {
    static_assert(std::is_void_v<R>,
                  "manta: a streaming generator (first parameter generator_sink<T>&) must "
                  "return void: its values are what it yields");
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "manta: remote() of a streaming generator got a different number of "
                  "arguments than the function has parameters after its generator_sink");
    static_assert((arg_compatible<Ps, As>() && ...),
                  "manta: an argument of remote() does not convert to the remote "
                  "function's parameter type (an object_ref<T> argument passes a T)");
    using spec_type = typed_task<R, fn_type, sink_arg<U>, arg_holder_t<Ps, As>...>;
    return start_generator<U>(window, [&](std::shared_ptr<item_stream> stream) {
      auto spec = std::make_shared<spec_type>(fn, info.name, opts, std::move(stream),
                                              std::forward<As>(args)...);
      spec->library = &info.library;
      spec->item_window = window;
      return submit(std::move(spec));
    });
  }
};

/// Whether a method pointer is a streaming generator, and how to queue it
/// as an actor call (actor_method::remote).
template <class M>
struct generator_method : std::false_type {};

/// The submission shared by const and non-const generator methods.
template <class T, class R, class M, class U, class... Ps>
struct generator_method_base : std::true_type {
  template <class... As>
  static object_ref_generator<U> submit_call(const std::shared_ptr<actor_core>& core, M m,
                                             const std::string& method_name,
                                             const std::string& call_name, const std::string* group,
                                             uint64_t window, As&&... args) {
    static_assert(std::is_void_v<R>,
                  "manta: a streaming generator method (first parameter generator_sink<T>&) "
                  "must return void: its values are what it yields");
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "manta: call(&T::method).remote() of a streaming generator got a "
                  "different number of arguments than the method has parameters after "
                  "its generator_sink");
    static_assert((arg_compatible<Ps, As>() && ...),
                  "manta: an argument of call(&T::method).remote() does not convert to the "
                  "method's parameter type (an object_ref<T> argument passes a T)");
    using call_type = typed_call<T, R, M, sink_arg<U>, arg_holder_t<Ps, As>...>;
    return start_generator<U>(window, [&](std::shared_ptr<item_stream> stream) {
      auto c = std::make_shared<call_type>(method_name, m, std::move(stream),
                                           std::forward<As>(args)...);
      if (!call_name.empty())
        c->call_name = call_name;
      c->item_window = window;
      return detail::submit_call(core, std::move(c), group);
    });
  }
};

template <class T, class R, class U, class... Ps>
struct generator_method<R (T::*)(generator_sink<U>&, Ps...)>
  : generator_method_base<T, R, R (T::*)(generator_sink<U>&, Ps...), U, Ps...> {};

template <class T, class R, class U, class... Ps>
struct generator_method<R (T::*)(generator_sink<U>&, Ps...) const>
  : generator_method_base<T, R, R (T::*)(generator_sink<U>&, Ps...) const, U, Ps...> {};

} // namespace detail

} // namespace manta
