// Waiting inside the simulation: a run's fiber yields to the event loop,
// the driver's stack runs it.

#include "manta/sim/sim_world.hpp"

#include "manta/errors.hpp"
#include "manta/retry_exceptions.hpp"

namespace manta::detail::sim {

namespace {

/// Thrown into a task's code (at its next `get`, `wait` or `sleep`) when its
/// virtual node died: it unwinds the run as the death of the process would.
struct node_lost {};

/// Nested event loops on the driver's stack (its `get` inside a callback
/// of its own) deeper than this are refused rather than overflow the stack.
constexpr size_t max_depth = 200;

} // namespace

bool world::block(const std::function<bool()>& done, std::optional<vtime> deadline,
                  std::span<object_slot* const> watch, bool poll, bool read) {
  if (current_ != nullptr) {
    // A run: give the thread back to the event loop until it may go on.
    auto& rf = *current_;
    auto lost = [&] { return !rf.rec->actor && nodes_[rf.rec->node].epoch != rf.rec->epoch; };
    if (lost())
      throw node_lost{};
    if (done())
      return fetch(watch, deadline, read);
    rf.wait = done;
    rf.deadline = deadline;
    rf.token = next_token_++;
    parked_[rf.token] = &rf;
    rf.waker.w = this;
    rf.waker.token = rf.token;
    rf.poll = poll;
    if (poll)
      ++polled_;
    for (auto* s : watch) {
      if (s->add_waiter(&rf.waker))
        rf.watched.push_back(s);
      else
        woken_.push_back(rf.token); // sealed meanwhile
    }
    if (deadline) // an event then, so that the loop's clock gets there and wakes it
      eng_.at(*deadline, event_kind::wake, rf.rec->node, id_of(*rf.rec->task),
              [this, token = rf.token] {
                if (parked_.count(token) != 0)
                  woken_.push_back(token);
              });
    // As a pool thread's task lends its CPUs while it blocks in get or wait
    // (cpu_loan), so that what it waits for can run; taken back when it
    // goes on, even if that overcommits the node for a while. A sleep keeps
    // them, as a sleeping thread does.
    auto& node = nodes_[rf.rec->node];
    double lent = watch.empty() && !poll ? 0.0 : rf.rec->cpus;
    node.free_cpus += lent;
    free_sum_ += lent;
    place_ready();
    rf.f->yield();
    rf.deadline.reset();
    if (lost())
      throw node_lost{}; // its node's CPUs went with it
    node.free_cpus -= lent;
    free_sum_ -= lent;
    return done() && fetch(watch, deadline, read);
  }
  if (depth_ >= max_depth)
    throw error("manta sim: more than " + std::to_string(max_depth)
                + " nested waits on the driver's stack");
  ++depth_;
  struct leave {
    size_t& d;
    ~leave() { --d; }
  } guard{depth_};
  auto check = [&] {
    resume_ready();
    return done();
  };
  bool ok = eng_.run_until(check, deadline.value_or(vtime::max()), std::chrono::seconds{2});
  if (ok)
    ok = fetch(watch, deadline, read);
  if (!ok && !deadline && !done())
    throw error("manta sim: deadlock at virtual time " + std::to_string(eng_.now().count())
                + " ns: the driver waits for an object that no simulated event will produce ("
                + std::to_string(ready_.size()) + " task(s) wait for a live node with room, "
                + std::to_string(apart_.size()) + " for their placement group or custom resources, "
                + std::to_string(suspended_.size()) + " run(s) are blocked)");
  return ok;
}

bool world::lost_run(const std::exception_ptr& e) noexcept {
  return e && exception_is<node_lost>(e);
}

} // namespace manta::detail::sim
