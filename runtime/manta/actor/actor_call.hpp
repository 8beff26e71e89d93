#pragma once

#include "manta/sched/child_tasks.hpp"
#include "manta/store/object_slot.hpp"
#include "manta/core/spin_lock.hpp"
#include "manta/observe/task_events.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <typeinfo>
#include <vector>

namespace manta::detail {

struct value_codec;
class actor_core;
class actor_call;

using call_ptr = std::shared_ptr<actor_call>;

/// What one run of user code produced: a value, an error, or nothing yet
/// (an async method that suspended; it reports later via `complete_call`).
struct call_outcome {
  std::shared_ptr<const void> value;
  const std::type_info* type = nullptr;
  size_t bytes = 0;
  /// How the value crosses nodes and spills; null if it cannot.
  const value_codec* codec = nullptr;
  std::exception_ptr error;
  bool pending = false;
  /// A failure of a call on another node that the actor's retry policy
  /// covers (the node marked it so): its owner runs it again while
  /// max_task_retries lasts.
  bool retryable = false;
};

/// Identifies one run of a call: the actor, the call and the instance
/// (epoch) it runs on, so a run on an instance that died meanwhile cannot
/// complete a call that was handed to the restarted instance.
struct run_context {
  actor_core* core = nullptr;
  call_ptr call;
  uint64_t epoch = 0;
};

/// One wait of a suspended async method. Its object, its timer and a
/// `cancel` may each try to wake it: the first one resumes the coroutine,
/// the others find the token taken (a coroutine resumed twice would run on
/// a freed or moved-on frame).
struct wake_token {
  std::atomic<bool> taken{false};
  actor_core* core = nullptr;
  /// The call whose coroutine waits: alive while its frame is suspended.
  const actor_call* call = nullptr;
  void* addr = nullptr;
  uint64_t epoch = 0;

  /// Takes the token: true for the one waker that is to resume it.
  bool claim() noexcept { return !taken.exchange(true, std::memory_order_acq_rel); }

  /// Resumes the coroutine on its actor's event loop (by whoever claimed).
  void resume() noexcept;

  /// Claims the token and resumes the coroutine, unless claimed before.
  void fire() noexcept {
    if (claim())
      resume();
  }
};

/// Tells the actor that one of a call's (or the constructor's) arguments
/// was sealed. Lives inside the call, so registering costs no allocation.
class actor_dep_waiter final : public waiter {
public:
  void on_ready() noexcept override;
  actor_core* core = nullptr;
};

/// One submitted method call: the method, its arguments and its result
/// slot. Queued in its actor's core until its turn and its arguments exist.
class actor_call {
public:
  explicit actor_call(const std::string& method_name) : method_name(method_name) {}
  virtual ~actor_call();

  actor_call(const actor_call&) = delete;
  actor_call& operator=(const actor_call&) = delete;

  /// Runs the method on `self`. A plain method returns its outcome; an
  /// async method starts its coroutine and returns a pending outcome.
  virtual call_outcome invoke(void* self, run_context ctx) noexcept = 0;

  /// True once every object argument exists (value or error).
  bool deps_done() const noexcept {
    for (auto& d : deps)
      if (!d->done())
        return false;
    return true;
  }

  // -- calls of an actor placed on another node -------------------------------

  /// Whether the arguments and the result can cross nodes.
  virtual bool remote_capable() const noexcept { return false; }

  /// Why they cannot, naming the type at fault; empty if they can.
  virtual std::string travel_blocker() const { return "its types cannot cross nodes"; }

  /// The method's type as the compiler names it (checked by the callee).
  virtual const char* signature() const noexcept { return ""; }

  /// The hash of the method's parameter and result layouts (callable_layout.hpp),
  /// checked by the callee; 0 if unknown.
  virtual uint64_t layout_hash() const noexcept { return 0; }

  /// Encodes the arguments in parameter order (object arguments must exist;
  /// one held on another node is fetched). Throws if they cannot cross.
  virtual void encode_args(std::vector<std::vector<char>>& out) const;

  /// The outcome the encoded result `bytes` stands for.
  virtual call_outcome decode_result(std::span<const char> bytes) const;

  /// The same, given a buffer of its own that it may take: a
  /// `std::vector<char>` result is those bytes, moved in, not decoded.
  virtual call_outcome take_result(std::vector<char>&& bytes) const { return decode_result(bytes); }

  /// Lets go of the arguments once the call ended for good (its actor's
  /// core took its outcome and will not run it again), before its result
  /// is sealed, as a task does (task_spec::release_args). Nothing else
  /// reads them then: the call has left its actor's queue and running list.
  void release_args() noexcept {
    deps.clear();
    release_held();
  }

  const std::string& method_name;
  slot_ptr result;
  std::vector<slot_ptr> deps;
  /// Re-runs so far: after the actor died under this call, or after an
  /// exception its retry policy covers.
  int retries = 0;
  /// Sent by an owner on another node, who holds the call's one retry
  /// budget (max_task_retries): a failure the actor's policy covers is
  /// not run again here but marked `retryable`, and the owner sends the
  /// call again, as it does after the actor's node died.
  bool owner_retries = false;
  /// Set (before the result is sealed) on a call with `owner_retries`
  /// whose failure the policy covers.
  bool retryable = false;
  /// Whether `waiter` was added to some dep (then it must be removed).
  bool waiting = false;
  actor_dep_waiter waiter;
  /// What the event recorder knows of the call (state API, timeline).
  call_trace trace;
  /// Set by `cancel`: `manta::cancelled()` turns true inside a running
  /// method, and an async method is stopped at its next `co_await`.
  std::atomic<bool> cancelled{false};
  /// Guards `wake`.
  spin_lock wake_lock;
  /// The last wait of an async method (claimed once it was woken; null
  /// before its first wait).
  std::shared_ptr<wake_token> wake;
  /// The tasks and calls this call submitted (recursive cancel).
  mutable child_list children;
  /// Per-call `.name(...)`: the call's name in the state API; empty:
  /// "Class.method".
  std::string call_name;
  /// A streaming generator call's back pressure (`generator_backpressure`;
  /// 0: none), sent with the call when its actor lives on another node.
  uint64_t item_window = 0;
  /// Its concurrency group: an index into the actor's groups (0: default).
  uint8_t group = 0;
  /// Whether it counts against the actor's `max_pending_calls` until its
  /// result is sealed (cleared by whoever releases it).
  std::atomic<bool> counts_pending{false};

protected:
  /// Lets go of the arguments the call holds itself (typed_call).
  virtual void release_held() noexcept {}
};

/// Builds an actor's instance; kept for the actor's lifetime so restarts
/// re-run it with the original arguments.
class actor_ctor {
public:
  virtual ~actor_ctor();
  virtual std::shared_ptr<void> construct() = 0;

  /// Whether another node can run this constructor: its arguments cross
  /// and the binary registered it under `key()`.
  virtual bool remote_capable() const noexcept { return false; }

  /// Why it cannot, naming the type at fault; empty if it can.
  virtual std::string travel_blocker() const { return "its types cannot cross nodes"; }

  /// Which constructor this is, for another node running the same binary.
  virtual const char* key() const noexcept { return ""; }

  /// Encodes the arguments (see actor_call::encode_args).
  virtual void encode_args(std::vector<std::vector<char>>& out) const;

  bool deps_done() const noexcept {
    for (auto& d : deps)
      if (!d->done())
        return false;
    return true;
  }

  std::vector<slot_ptr> deps;
  bool waiting = false;
  actor_dep_waiter waiter;
};

// -- entry points of actor_core for the templates in user code -----------------

/// Queues a call, in concurrency group `group` if not null (else the
/// method's); returns its result slot. Throws `pending_calls_limit_error`
/// past the actor's `max_pending_calls`, `invalid_argument_error` for an
/// unknown group.
slot_ptr submit_call(const std::shared_ptr<actor_core>& core, call_ptr call,
                     const std::string* group = nullptr);

/// Reports the outcome of a call whose method suspended (an async method).
void complete_call(const run_context& ctx, call_outcome outcome) noexcept;

/// Resumes coroutine `addr` on its actor's event loop once `slot` is sealed.
void resume_when_ready(const run_context& ctx, object_slot& slot, void* addr);

/// Resumes coroutine `addr` on its actor's event loop after `d`.
void resume_after(const run_context& ctx, std::chrono::nanoseconds d, void* addr);

/// A wake-up sent to an actor's host arrived (`key` is what was sent): a
/// timer of `resume_after` (the coroutine resumes unless a cancel woke it
/// first) or an object that was sealed (`claimed` already: it resumes).
void wake_arrived(uint64_t key, bool claimed) noexcept;

/// Throws `task_cancelled_error` if the call of `ctx` was cancelled: where
/// an async method's `co_await` returns.
void throw_if_cancelled(const run_context& ctx);

/// Seals a call's result from its outcome.
void seal_outcome(object_slot& slot, const call_outcome& out, const std::string& task_name);

/// Builds a successful outcome holding `value`.
template <class V>
call_outcome make_outcome(V&& value);

} // namespace manta::detail
