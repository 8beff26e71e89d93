#include "manta/get.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/sched/blocking.hpp"
#include "manta/sched/parker.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sim/sim_read.hpp"
#include "manta/sched/task_error.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/wait.hpp"

#include <algorithm>

namespace manta::detail {

namespace {

/// Unparks one thread when the object it waits for is sealed.
class single_waiter final : public waiter {
public:
  explicit single_waiter(parker& p) : parker_(p) {}
  void on_ready() noexcept override { parker_.unpark(); }

private:
  parker& parker_;
};

/// Unparks one thread once `needed` of the objects it waits for are sealed.
class counting_waiter final : public waiter {
public:
  counting_waiter(parker& p, size_t needed) : parker_(p), left_(needed) {}
  void on_ready() noexcept override {
    if (left_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      parker_.unpark();
  }
  bool satisfied() const noexcept { return left_.load(std::memory_order_acquire) <= 0; }

private:
  parker& parker_;
  std::atomic<ptrdiff_t> left_;
};

/// A get of one object.
class one_object final : public wait_target {
public:
  explicit one_object(const object_slot& s) : slot_(s) {}
  bool ready() const noexcept override { return slot_.done(); }
  bool awaits(const object_slot& s) const noexcept override { return &s == &slot_; }

private:
  const object_slot& slot_;
};

/// A wait for `w`'s count of `slots`; the producers of short lists are
/// preferred when it helps (a long one is not searched under the pool's lock).
class some_objects final : public wait_target {
public:
  some_objects(const std::vector<object_slot*>& slots, const counting_waiter& w)
    : slots_(slots), w_(w) {}
  bool ready() const noexcept override { return w_.satisfied(); }
  bool awaits(const object_slot& s) const noexcept override {
    return slots_.size() <= 16 && std::find(slots_.begin(), slots_.end(), &s) != slots_.end();
  }

private:
  const std::vector<object_slot*>& slots_;
  const counting_waiter& w_;
};

/// A blocking wait's loan of the task's CPUs: one that helps (runs ready
/// tasks of its tree meanwhile) without a deadline, a plain one with.
template <class F>
void wait_with_loan(task_spec* t, const wait_target& target, clock::time_point deadline, F park) {
  if (deadline == clock::time_point::max()) {
    helping_wait loan{t, target};
    park([&] { return loan.help(); });
  } else {
    cpu_loan loan{t};
    park([] { return false; });
  }
}

[[noreturn]] void throw_timeout(const char* what, size_t missing) {
  throw get_timeout_error(std::string{"manta::"} + what + ": timed out with "
                          + std::to_string(missing)
                          + " object(s) still pending; raise the timeout or "
                            "check what they wait for");
}

} // namespace

namespace {

thread_local clock::time_point t_read_deadline = clock::time_point::max();

/// Throws the error sealed into `slot`: out of line, so that the sealed
/// path of `await` needs no stack frame for an exception it rarely throws.
[[noreturn, gnu::noinline, gnu::cold]] void rethrow_sealed_error(const object_slot& slot) {
  std::rethrow_exception(slot.error());
}

/// The error of a `get` whose `T` is not the sealed value's type: out of
/// line, so that `check_type`'s usual answer is a compare and a return.
[[noreturn, gnu::noinline, gnu::cold]] void throw_type_mismatch(const object_slot& slot,
                                                                const std::type_info& expected) {
  throw error("manta::get: object " + to_string(slot.id()) + " holds a "
              + demangle(slot.type().name()) + " but was read as a " + demangle(expected.name()));
}

/// `await` of an object not sealed yet, or in a simulation: kept out of
/// line so that the sealed path stays a few instructions.
[[gnu::noinline]] void await_unsealed(object_slot& slot, clock::time_point deadline);

} // namespace

clock::time_point deadline_from_now(clock::duration timeout) {
  auto deadline = clock::now() + timeout;
  if (sim_drives_this_thread())
    sim_note_deadline(deadline, timeout);
  return deadline;
}

clock::time_point read_deadline() noexcept {
  return t_read_deadline;
}

read_deadline_scope::read_deadline_scope(clock::time_point deadline) noexcept
  : previous_(t_read_deadline) {
  t_read_deadline = std::min(deadline, previous_);
}

read_deadline_scope::~read_deadline_scope() {
  t_read_deadline = previous_;
}

void await(object_slot& slot, clock::time_point deadline) {
  runtime::require("get");
  // A sealed object outside a simulation first: the get of a ref already
  // sealed is an acquire load and a return (a few ns), and neither the
  // simulation's read (which also waits for a sealed object to cross to the
  // reader's node), the inline call nor the pool has anything to do for it.
  if (slot.done() && !sim_engaged()) [[likely]] {
    if (slot.failed()) [[unlikely]]
      rethrow_sealed_error(slot);
    return;
  }
  await_unsealed(slot, deadline);
}

namespace {

void await_unsealed(object_slot& slot, clock::time_point deadline) {
  // `sim_engaged` first: one load spares the out-of-line call outside a
  // simulation (a sealed get never comes here unless one runs: `await`).
  if (sim_engaged() && sim_drives_this_thread()) {
    // The simulation runs its events until the object exists (or the
    // waiting task is cancelled) and has crossed to the reader's node.
    auto* t = this_task().task;
    throw_if_cancelled(t);
    bool sealed = sim_block_read([&] { return slot.done() || (t != nullptr && t->cancelled()); },
                                 deadline, slot);
    throw_if_cancelled(t);
    if (!sealed)
      throw_timeout("get", 1);
  }
  if (!slot.done() && deadline == clock::time_point::max()) {
    // The result of this thread's own actor call, next in a free actor's
    // queue: run the call here rather than wait for a pool thread to be
    // woken for it (actor_core_inline.cpp). Not with a deadline, which
    // a call running here could not keep.
    auto* t = this_task().task;
    throw_if_cancelled(t);
    if (run_submitted_call(slot))
      throw_if_cancelled(t); // cancelled while it ran the call: stop here
    // A thread outside the pool runs the task it waits for itself, when
    // the task is granted and not picked up yet (worker_pool_caller.cpp);
    // again after a retry queued it again.
    auto& pool = runtime::require("get").pool();
    while (!slot.done() && pool.run_here(slot)) {
    }
  }
  if (!slot.done()) {
    auto* t = this_task().task;
    throw_if_cancelled(t);
    auto& p = parker::this_thread();
    single_waiter w{p};
    if (slot.add_waiter(&w)) {
      // Leaving always goes through remove_waiter: it takes the slot's lock,
      // so a sealer still telling the waiters is done before `w` dies.
      struct unregister {
        object_slot& s;
        waiter* w;
        ~unregister() { s.remove_waiter(w); }
      } guard{slot, &w};
      one_object target{slot};
      wait_with_loan(t, target, deadline, [&](auto help) {
        while (!slot.done()) {
          throw_if_cancelled(t);
          if (help())
            continue;
          if (!p.park_until(deadline) && clock::now() >= deadline && !slot.done())
            throw_timeout("get", 1);
        }
      });
    }
  }
  if (slot.failed())
    rethrow_sealed_error(slot);
}

} // namespace

void check_type(const object_slot& slot, const std::type_info& expected) {
  if (slot.type() != expected) [[unlikely]]
    throw_type_mismatch(slot, expected);
}

namespace {

/// A ref given twice would count twice toward num_returns: Ray refuses it.
void check_unique(const std::vector<object_slot*>& slots) {
  auto fail = [] {
    throw invalid_argument_error("manta::wait: the list holds the same object_ref more than "
                                 "once; wait needs distinct refs (remove the duplicates first)");
  };
  // Refs listed in the order they were made (a loop of submissions, the
  // pending list wait hands back) have increasing ids, so are distinct: one
  // compare per ref, where a sort on every call of a wait loop would cost
  // more than the wait.
  bool increasing = true;
  for (size_t i = 1; i < slots.size() && increasing; ++i)
    increasing = slots[i - 1]->id().value() < slots[i]->id().value();
  if (increasing)
    return;
  if (slots.size() <= 16) { // the usual short list: no allocation
    for (size_t i = 0; i < slots.size(); ++i)
      for (size_t j = i + 1; j < slots.size(); ++j)
        if (slots[i] == slots[j])
          fail();
    return;
  }
  auto sorted = slots;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    fail();
}

} // namespace

std::vector<size_t> wait_slots(const std::vector<object_slot*>& slots, size_t num_returns,
                               clock::time_point deadline) {
  runtime::require("wait");
  if (slots.empty())
    return {}; // as Ray: nothing to wait for, both lists empty
  check_unique(slots);
  if (num_returns > slots.size())
    throw invalid_argument_error("manta::wait: num_returns (" + std::to_string(num_returns)
                                 + ") is larger than the number of refs ("
                                 + std::to_string(slots.size()) + ")");
  auto count_done = [&] {
    return static_cast<size_t>(
      std::count_if(slots.begin(), slots.end(), [](auto* s) { return s->done(); }));
  };
  auto done = count_done();
  if (done < num_returns && sim_drives_this_thread()) {
    throw_if_cancelled(this_task().task);
    sim_block([&] { return count_done() >= num_returns; }, deadline, slots);
  } else if (done < num_returns && deadline > clock::now()) {
    auto* t = this_task().task;
    throw_if_cancelled(t);
    auto& p = parker::this_thread();
    counting_waiter w{p, num_returns - done};
    std::vector<object_slot*> registered;
    // An object sealed between count_done and add_waiter is not registered
    // and never tells `w`: the loop below recounts sealed objects itself.
    for (auto* s : slots)
      if (s->add_waiter(&w))
        registered.push_back(s);
    some_objects target{slots, w};
    wait_with_loan(t, target, deadline, [&](auto help) {
      while (!w.satisfied() && count_done() < num_returns) {
        if (t != nullptr && t->cancelled())
          break;
        if (help())
          continue;
        if (!p.park_until(deadline) && clock::now() >= deadline)
          break;
      }
    });
    for (auto* s : registered)
      s->remove_waiter(&w);
    throw_if_cancelled(t);
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i]->done())
      ready.push_back(i);
  // Only the first num_returns in completion order are wanted: a partial
  // sort keeps a wait for one out of many ready refs linear, not n log n.
  auto by_seal = [&](size_t x, size_t y) { return slots[x]->seal_seq() < slots[y]->seal_seq(); };
  auto keep = std::min(num_returns, ready.size());
  std::partial_sort(ready.begin(), ready.begin() + static_cast<ptrdiff_t>(keep), ready.end(),
                    by_seal);
  ready.resize(keep);
  return ready;
}

} // namespace manta::detail
