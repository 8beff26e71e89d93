// Where an async actor method waits: its object or its timer wakes it, or a
// cancel does first (one wake_token per wait; the first waker resumes it).
#include "manta/actor/actor_call.hpp"

#include "actors/atoms.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace manta::detail {

namespace {

using token_ptr = std::shared_ptr<wake_token>;

/// A token for the wait of `ctx`'s call at `addr`, recorded in the call so
/// that `cancel` can wake it. Fired at once if the call was cancelled
/// before it got here (cancel sets the flag, then looks for a token; this
/// records the token, then looks at the flag: one of them sees the other).
token_ptr arm(const run_context& ctx, void* addr, bool& fired) {
  auto tok = std::make_shared<wake_token>();
  tok->core = ctx.core;
  tok->call = ctx.call.get();
  tok->addr = addr;
  tok->epoch = ctx.epoch;
  bool cancelled = false;
  {
    std::lock_guard<spin_lock> guard{ctx.call->wake_lock};
    ctx.call->wake = tok;
    cancelled = ctx.call->cancelled.load(std::memory_order_acquire);
  }
  fired = cancelled;
  if (cancelled)
    tok->fire();
  return tok;
}

/// What a wake-up message carries: a token of its own, reclaimed when the
/// message arrives (a host that dies first leaves that one small
/// allocation behind).
uint64_t key_of(token_ptr tok) {
  return reinterpret_cast<uint64_t>(new token_ptr(std::move(tok)));
}

/// A wake-up in a simulation: an event of its own, where a message to the
/// host would arrive on a CAF thread at a moment no seed decides. The actor
/// may be gone when it runs (killed with its node): then nothing resumes.
std::function<void()> sim_wake(std::weak_ptr<actor_core> core, token_ptr tok, bool claimed) {
  return [core = std::move(core), tok = std::move(tok), claimed] {
    auto alive = core.lock();
    if (alive == nullptr)
      return;
    if (claimed)
      tok->resume();
    else
      tok->fire();
  };
}

/// Wakes a suspended coroutine through its actor's host (in a simulation,
/// through an event) once an object is sealed; frees itself after telling.
class resume_waiter final : public waiter {
public:
  resume_waiter(const run_context& ctx, token_ptr tok)
    : host_(ctx.core->host()), tok_(std::move(tok)) {
    if (sim_engaged())
      sim_core_ = ctx.core->weak_from_this();
  }
  void on_ready() noexcept override {
    // Called with the slot's lock held: the host resumes it, not this thread.
    if (tok_->claim()) {
      if (sim_core_.has_value())
        sim_post(sim_wake(std::move(*sim_core_), std::move(tok_), true));
      else
        caf::anon_send(host_, actors::resume_atom::value, key_of(std::move(tok_)), true);
    }
    delete this; // the slot drops its pointer right after telling
  }

private:
  caf::actor host_;
  token_ptr tok_;
  /// Set in a simulation: the actor, for `sim_wake`.
  std::optional<std::weak_ptr<actor_core>> sim_core_;
};

} // namespace

void wake_token::resume() noexcept {
  core->push_resume(addr, epoch, call);
}

void resume_when_ready(const run_context& ctx, object_slot& slot, void* addr) {
  bool fired = false;
  auto tok = arm(ctx, addr, fired);
  if (fired)
    return;
  auto* w = new resume_waiter(ctx, tok);
  if (!slot.add_waiter(w)) {
    delete w;
    tok->fire();
  }
}

void resume_after(const run_context& ctx, std::chrono::nanoseconds d, void* addr) {
  bool fired = false;
  auto tok = arm(ctx, addr, fired);
  if (fired)
    return;
  if (sim_engaged()) { // virtual time
    sim_post_after(d, sim_wake(ctx.core->weak_from_this(), std::move(tok), false));
    return;
  }
  caf::delayed_anon_send(ctx.core->host(), d, actors::resume_atom::value, key_of(std::move(tok)),
                         false);
}

void wake_arrived(uint64_t key, bool claimed) noexcept {
  std::unique_ptr<token_ptr> tok{reinterpret_cast<token_ptr*>(key)};
  if (claimed)
    (*tok)->resume();
  else
    (*tok)->fire();
}

void throw_if_cancelled(const run_context& ctx) {
  if (ctx.call && ctx.call->cancelled.load(std::memory_order_acquire))
    throw task_cancelled_error("actor call '" + ctx.core->display_name() + "."
                               + ctx.call->method_name + "' was cancelled");
}

} // namespace manta::detail
