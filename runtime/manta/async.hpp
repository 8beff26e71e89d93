#pragma once

#include "manta/actor/actor_call.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/value_size.hpp"
#include "manta/errors.hpp"
#include "manta/object_ref.hpp"

#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace manta {

namespace detail {

template <class V>
call_outcome make_outcome(V&& value) {
  using D = std::decay_t<V>;
  auto ptr = std::make_shared<const D>(std::forward<V>(value));
  call_outcome out;
  out.bytes = value_size(*ptr);
  out.type = &typeid(D);
  out.codec = codec_for<D>();
  out.value = std::move(ptr);
  return out;
}

/// What `sleep_for` returns; only awaitable inside an async actor method.
struct sleep_request {
  std::chrono::nanoseconds duration;
};

} // namespace detail

/// Waits inside an async actor method without holding a thread:
/// `co_await manta::sleep_for(1s);`
template <class Rep, class Period>
detail::sleep_request sleep_for(std::chrono::duration<Rep, Period> d) {
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(d)};
}

/// The return type of an async actor method, a C++20 coroutine:
///
///     manta::async<int> fetch(manta::object_ref<int> x) {
///       co_await manta::sleep_for(1s);  // no thread is held while it waits
///       int v = co_await x;             // waits for the object, then reads it
///       co_return v + 1;
///     }
///
/// Callers see no difference: `h.call(&c::fetch).remote(ref)` returns an
/// `object_ref<int>`. An actor with an async method runs all its calls on
/// one event loop (one coroutine step at a time, on the node's worker
/// threads, never on CAF's scheduler threads), like Ray's asyncio actors:
/// while one call waits, others run, so three concurrent 1 s waits take
/// about 1 s. Such an actor admits 1000 calls at once unless
/// `max_concurrency` says otherwise. Inside, `co_await` works on
/// `object_ref<T>` (yields the value or throws its error) and on
/// `manta::sleep_for(d)`; a blocking `manta::get` would stall the whole
/// event loop, as it would in Ray. A call cancelled with `manta::cancel`
/// stops at its next `co_await`, which throws `task_cancelled_error` (a
/// wait in progress ends at once), as asyncio raises CancelledError.
template <class R>
class async {
public:
  struct promise_type;
  using handle_type = std::coroutine_handle<promise_type>; ///< Its coroutine.

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(handle_type h) noexcept {
      auto& p = h.promise();
      detail::call_outcome out;
      if (p.error) {
        out.error = p.error;
      } else if constexpr (std::is_void_v<R>) {
        out.type = &typeid(void);
      } else {
        out = detail::make_outcome(std::move(*p.value));
      }
      auto ctx = std::move(p.ctx);
      h.destroy(); // suspended at its final point: safe to destroy here
      detail::complete_call(ctx, std::move(out));
    }
    void await_resume() const noexcept {}
  };

  template <class U>
  struct ref_awaiter {
    object_ref<U> ref;
    promise_type* promise;
    bool await_ready() const noexcept { return ref.ready(); }
    void await_suspend(handle_type h) {
      detail::resume_when_ready(promise->ctx, *ref.slot(), h.address());
    }
    U await_resume() const {
      detail::throw_if_cancelled(promise->ctx); // cancelled while it waited
      auto& slot = *ref.slot();
      if (slot.failed())
        std::rethrow_exception(slot.error());
      if constexpr (!std::is_void_v<U>)
        return slot.template copy_as<U>();
    }
  };

  struct sleep_awaiter {
    std::chrono::nanoseconds d;
    promise_type* promise;
    bool await_ready() const noexcept { return d.count() <= 0; }
    void await_suspend(handle_type h) { detail::resume_after(promise->ctx, d, h.address()); }
    void await_resume() const { detail::throw_if_cancelled(promise->ctx); }
  };

  struct promise_base {
    std::exception_ptr error;
    /// Set by the runtime before the coroutine first runs.
    detail::run_context ctx;

    std::suspend_always initial_suspend() noexcept { return {}; }
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }

    template <class U>
    ref_awaiter<U> await_transform(object_ref<U> ref) {
      if (!ref)
        throw invalid_argument_error("co_await on an empty object_ref");
      return {std::move(ref), static_cast<promise_type*>(this)};
    }
    sleep_awaiter await_transform(detail::sleep_request s) noexcept {
      return {s.duration, static_cast<promise_type*>(this)};
    }
  };

  struct value_promise : promise_base {
    std::optional<R> value;
    template <class V>
    void return_value(V&& v) {
      value.emplace(std::forward<V>(v));
    }
  };

  struct void_promise : promise_base {
    void return_void() noexcept {}
  };

  struct promise_type : std::conditional_t<std::is_void_v<R>, void_promise, value_promise> {
    async get_return_object() { return async{handle_type::from_promise(*this)}; }
  };

  async(async&& other) noexcept : h_(std::exchange(other.h_, {})) {} ///< Moved only.
  async& operator=(async&&) = delete;
  ~async() {
    if (h_)
      h_.destroy();
  }

  // -- runtime internals ------------------------------------------------------

  /// Hands the suspended coroutine to the runtime.
  handle_type release() noexcept { return std::exchange(h_, {}); }

private:
  explicit async(handle_type h) : h_(h) {}
  handle_type h_;
};

} // namespace manta
