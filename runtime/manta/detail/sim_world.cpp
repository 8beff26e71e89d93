#include "manta/detail/sim_world.hpp"

#include "actors/task_runner.hpp"
#include "manta/detail/actor_core.hpp"
#include "manta/detail/actor_job.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/sim_hooks.hpp"
#include "manta/detail/task_events.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace manta::detail::sim {

namespace {

/// Thrown into a task's code (at its next `get`, `wait` or `sleep`) when its
/// virtual node died: it unwinds the run as the death of the process would.
struct node_lost {};

/// Nested event loops on the driver's stack (its `get` inside a callback
/// of its own) deeper than this are refused rather than overflow the stack.
constexpr size_t max_depth = 200;

} // namespace

struct world::arg_wait final : waiter {
  world* w = nullptr;
  task_ptr task;
  std::atomic<size_t> left{0};

  void on_ready() noexcept override {
    if (left.fetch_sub(1, std::memory_order_acq_rel) != 1)
      return;
    auto* self = w;
    auto* key = task.get();
    auto ready = [self, key] {
      auto it = self->arg_waits_.find(key);
      if (it == self->arg_waits_.end())
        return;
      auto t = std::move(it->second->task);
      self->arg_waits_.erase(it);
      actors::hand_over(std::move(t), runtime::require("simulation").pool(), nullptr);
    };
    if (w->eng_.on_owner())
      w->eng_.after(vtime{0}, event_kind::wake, 0, id_of(*key), std::move(ready));
    else
      w->eng_.post(std::move(ready));
  }
};

world::world(const simulation_options& opts)
  : opts_(opts), eng_(opts.seed), nodes_(opts.nodes), runs_(opts.nodes),
    doomed_(opts.nodes), side_(opts.nodes, 0), started_(std::chrono::steady_clock::now()) {
  for (auto& n : nodes_)
    n.free_cpus = opts.cpus_per_node;
  free_sum_ = opts.cpus_per_node * static_cast<double>(opts.nodes);
  if (!opts.trace_file.empty()) {
    trace_ = std::fopen(opts.trace_file.c_str(), "w");
    if (trace_ == nullptr)
      throw invalid_argument_error("manta sim: cannot write the trace file " + opts.trace_file
                                   + "; give a path in a folder you can write");
    eng_.trace_to(trace_);
  }
  for (auto& f : opts_.faults)
    add_fault(f);
  // Kills drawn from the seed: which node, and when (before the other
  // random faults, which have streams of their own).
  auto& rng = eng_.stream("faults");
  for (uint32_t i = 0; i < opts_.random_kills && opts_.nodes > 1; ++i) {
    sim_fault f;
    f.what = sim_fault::kind::kill;
    f.node = 1 + static_cast<uint32_t>(rng() % (opts_.nodes - 1));
    f.at = vtime{static_cast<int64_t>(rng() % static_cast<uint64_t>(
                   std::max<int64_t>(1, opts_.kill_window.count())))};
    add_fault(f);
  }
  draw_faults();
  measuring_ = opts_.cost == sim_cost::measured;
}

world::~world() {
  // Runs still blocked at shutdown: their waiters come off the objects
  // (which their stacks keep alive) before they go.
  while (!suspended_.empty())
    unpark(*suspended_.front());
  if (trace_ != nullptr)
    std::fclose(trace_);
}

uint64_t world::id_of(const task_spec& t) noexcept {
  if (auto* job = dynamic_cast<const actor_job*>(&t))
    return static_cast<const actor_core*>(job->lease_owner())->id() | (uint64_t{1} << 63);
  return t.result ? t.result->id().value() : 0;
}

uint32_t world::current_node() const noexcept {
  return current_ == nullptr ? 0 : current_->rec->node;
}

// -- placing and running ------------------------------------------------------

void world::schedule(task_ptr t) {
  if (!eng_.on_owner()) {
    eng_.post([this, t = std::move(t)]() mutable { schedule(std::move(t)); });
    return;
  }
  if (t->cancelled())
    return;
  ready_.push_back(std::move(t));
  place_ready();
}

void world::wait_for_args(task_ptr t) {
  auto w = std::make_unique<arg_wait>();
  w->w = this;
  w->task = t;
  // One more than the arguments, taken back below: none fires it early.
  w->left.store(t->deps.size() + 1, std::memory_order_relaxed);
  auto* raw = w.get();
  arg_waits_.emplace(t.get(), std::move(w));
  size_t added = 0;
  for (auto& dep : t->deps)
    if (dep->add_waiter(raw))
      ++added;
  raw->left.fetch_sub(t->deps.size() - added, std::memory_order_acq_rel);
  raw->on_ready(); // the extra one; hands it over if all were sealed
}

void world::place_ready() {
  // First in, first placed: a task that fits nowhere holds back the ones
  // behind it, as the pool's queue does.
  while (!ready_.empty()) {
    if (ready_.front()->cancelled()) {
      ready_.pop_front();
      continue;
    }
    if (!try_place(ready_.front()))
      return;
    ready_.pop_front();
  }
}

bool world::try_place(task_ptr& t) {
  auto* job = dynamic_cast<actor_job*>(t.get());
  uint32_t from = current_node();
  if (job != nullptr) {
    auto it = actor_node_.find(job->lease_owner());
    if (it != actor_node_.end() && !job->keeps_lease) {
      auto r = std::make_shared<run_rec>();
      r->task = std::move(t);
      r->actor = true;
      if (!nodes_[it->second].alive) {
        // Its node died and nobody noticed yet: the job waits for `detect`,
        // which kills the actor first, so it runs on a stale epoch.
        r->node = it->second;
        r->over = true;
        doomed_[it->second].push_back(std::move(r));
        return true;
      }
      start(r, it->second);
      return true;
    }
  }
  double need = t->opts.resources.cpus;
  // An actor's placement is its own option, not its jobs'.
  auto& where = job != nullptr
                  ? static_cast<const actor_core*>(job->lease_owner())->options().strategy
                  : t->opts.strategy;
  bool pinned = where.kind == scheduling_strategy::node_affinity && where.node < nodes_.size();
  if (pinned && !where.soft && !nodes_[where.node].alive && job == nullptr) {
    fail(*t, "it is pinned to " + node_name(where.node) + ", which is dead");
    return true; // placed nowhere, but out of the queue
  }
  auto fits = [&](uint32_t n) {
    return nodes_[n].alive && reachable(from, n) && nodes_[n].free_cpus >= need;
  };
  std::optional<uint32_t> chosen;
  if (pinned && fits(static_cast<uint32_t>(where.node))) {
    chosen = static_cast<uint32_t>(where.node);
  } else if ((!pinned || where.soft) && need <= free_sum_) {
    // A few random picks first, so that placing among a thousand nodes is
    // not a scan of them all; then the scan, to find a rare free one.
    auto& rng = eng_.stream("placement");
    for (int i = 0; i < 8 && !chosen; ++i)
      if (auto n = static_cast<uint32_t>(rng() % nodes_.size()); fits(n))
        chosen = n;
    if (!chosen) {
      std::vector<uint32_t> fit;
      for (uint32_t n = 0; n < nodes_.size(); ++n)
        if (fits(n))
          fit.push_back(n);
      if (!fit.empty())
        chosen = fit[rng() % fit.size()];
    }
  }
  if (!chosen)
    return false;
  auto node = *chosen;
  auto r = std::make_shared<run_rec>();
  r->task = std::move(t);
  r->actor = job != nullptr;
  if (job != nullptr) {
    // An actor lives where its constructor ran. Its CPUs are not held for
    // its life in this slice (docs/simulation.md).
    auto* core = static_cast<const actor_core*>(job->lease_owner());
    actor_node_[core] = node;
    nodes_[node].actors.push_back(const_cast<actor_core*>(core)->weak_from_this());
  } else {
    r->cpus = need;
    nodes_[node].free_cpus -= need;
    free_sum_ -= need;
  }
  start(r, node);
  return true;
}

void world::start(const rec_ptr& r, uint32_t node) {
  r->node = node;
  r->epoch = nodes_[node].epoch;
  runs_[node].push_back(r);
  r->pos = std::prev(runs_[node].end());
  eng_.note(event_kind::place, node, id_of(*r->task));
  send(r, current_node());
}

void world::send(const rec_ptr& r, uint32_t from) {
  auto node = r->node;
  auto id = id_of(*r->task);
  bool lost = false;
  auto d = delay(from, node, lost);
  if (lost && !r->actor) {
    // The spec never arrives: the sender notices and places it again.
    eng_.after(opts_.resend_after, event_kind::lost, node, id, [this, r] {
      if (r->over)
        return;
      retire(r);
      ready_.push_front(std::move(r->task));
      place_ready();
    });
    return;
  }
  if (lost) {
    // An actor job has one place to go: it is sent there again.
    eng_.after(opts_.resend_after, event_kind::lost, node, id, [this, r, from] {
      if (!r->over && nodes_[r->node].epoch == r->epoch)
        send(r, from);
    });
    return;
  }
  // Object arguments made elsewhere are fetched once the spec is there
  // (all at once: the slowest counts). Fetches ignore partitions.
  vtime fetch_time{0};
  if (opts_.latency.count() > 0 || opts_.bandwidth > 0) {
    std::lock_guard guard{produced_mtx_};
    for (auto& dep : r->task->deps)
      if (auto it = produced_.find(dep.get()); it != produced_.end())
        fetch_time = std::max(fetch_time, transfer(it->second.node, node, it->second.bytes));
  }
  eng_.after(d + fetch_time, event_kind::arrive, node, id, [this, r] { arrive(r); });
}

void world::arrive(const rec_ptr& r) {
  if (r->over || nodes_[r->node].epoch != r->epoch)
    return; // its node died meanwhile: `detect` handles it
  if (r->actor) {
    run_code(r);
    return;
  }
  task_events::on_waiting_for_resources(*r->task); // no-op if already so
  vtime d{0};
  try {
    d = duration_of(*r);
  } catch (...) {
    // A cost function that cannot read the task's arguments (or throws):
    // the task fails with its error, as a run that threw would.
    retire(r);
    auto err = std::current_exception();
    r->task->result->seal_error(err);
    task_events::on_end(*r->task, task_state::failed, err);
    place_ready();
    return;
  }
  d = vtime{static_cast<int64_t>(static_cast<double>(d.count()) * nodes_[r->node].slow)};
  eng_.after(d, event_kind::finish, r->node, id_of(*r->task), [this, r] {
    if (!r->over && nodes_[r->node].epoch == r->epoch)
      run_code(r);
  });
}

void world::run_code(const rec_ptr& r) {
  auto rf = std::make_unique<run_fiber>();
  rf->rec = r;
  rf->f = std::make_unique<fiber>([this, r] { run_body(r); });
  resume(*rf);
  if (!rf->f->finished())
    park(std::move(rf));
}

void world::park(std::unique_ptr<run_fiber> rf) {
  auto* raw = rf.get();
  suspended_.push_back(std::move(rf));
  raw->pos = std::prev(suspended_.end());
}

std::unique_ptr<world::run_fiber> world::unpark(run_fiber& rf) {
  for (auto* s : rf.watched)
    s->remove_waiter(&rf.waker);
  rf.watched.clear();
  parked_.erase(rf.token);
  if (rf.poll)
    --polled_;
  rf.poll = false;
  auto owned = std::move(*rf.pos);
  suspended_.erase(rf.pos);
  return owned;
}

void world::wake_node(uint32_t node) {
  for (auto& rf : suspended_)
    if (rf->rec->node == node && !rf->rec->actor)
      woken_.push_back(rf->token);
}

void world::run_body(const rec_ptr& r) {
  r->in_code = true;
  bool again = execute_task(r->task);
  r->in_code = false;
  bool died = nodes_[r->node].epoch != r->epoch;
  retire(r);
  if (again && died && !r->actor) {
    lose(r, true, node_name(r->node) + " died while it ran");
  } else if (again) {
    eng_.note(event_kind::retry, r->node, id_of(*r->task));
    ready_.push_back(std::move(r->task));
  }
  place_ready();
}

world::thread_view world::save_view() {
  return thread_view{this_task(), current_actor(), current_call()};
}

void world::restore_view(const thread_view& v) {
  this_task() = v.task;
  current_actor() = v.actor;
  current_call() = v.call;
}

void world::resume(run_fiber& rf) {
  auto outside = save_view();
  restore_view(rf.view);
  auto* previous = current_;
  current_ = &rf;
  if (measuring_)
    rf.slice_start = thread_cpu_now();
  rf.f->resume();
  if (measuring_)
    rf.cpu += thread_cpu_now() - rf.slice_start;
  current_ = previous;
  rf.view = save_view();
  restore_view(outside);
}

void world::resume_ready() {
  for (;;) {
    if (polled_ > 0) // runs waiting on something no waiter tells of
      for (auto& rf : suspended_)
        if (rf->poll)
          woken_.push_back(rf->token);
    if (woken_.empty())
      return;
    auto batch = std::move(woken_);
    woken_.clear();
    bool progressed = false;
    for (auto token : batch) {
      auto it = parked_.find(token);
      if (it == parked_.end())
        continue; // resumed already (woken twice)
      auto& rf = *it->second;
      bool lost = !rf.rec->actor && nodes_[rf.rec->node].epoch != rf.rec->epoch;
      bool late = rf.deadline && eng_.now() >= *rf.deadline;
      if (!lost && !late && !rf.wait())
        continue; // e.g. a wait for 2 of 3 objects after the first
      auto owned = unpark(rf);
      eng_.note(event_kind::wake, owned->rec->node, id_of(*owned->rec->task));
      owned->wait = nullptr;
      resume(*owned);
      if (!owned->f->finished())
        park(std::move(owned)); // waits again
      progressed = true;
    }
    if (!progressed)
      return;
  }
}
void world::retire(const rec_ptr& r) {
  if (r->over)
    return;
  r->over = true;
  if (nodes_[r->node].epoch == r->epoch) {
    nodes_[r->node].free_cpus += r->cpus;
    free_sum_ += r->cpus;
    runs_[r->node].erase(r->pos);
  }
}

void world::lose(const rec_ptr& r, bool attempt_counted, const std::string& why) {
  auto& t = r->task;
  ++tasks_lost_;
  eng_.note(event_kind::lost, r->node, id_of(*t));
  if (r->actor) {
    // Its actor was killed with the node: the job finds a stale epoch and
    // only tidies up (a drain it never runs would count forever).
    execute_task(t);
    return;
  }
  int attempts = attempt_counted ? t->attempts.load(std::memory_order_relaxed)
                                 : t->attempts.fetch_add(1, std::memory_order_relaxed) + 1;
  if (t->cancelled())
    return;
  if (attempts <= t->opts.max_retries) {
    eng_.note(event_kind::retry, r->node, id_of(*t));
    ready_.push_back(std::move(t));
    return;
  }
  fail(*t, why + " (simulated), after " + std::to_string(attempts)
              + " attempt(s); give it max_retries to run it again elsewhere");
}

void world::fail(task_spec& t, const std::string& why) {
  auto err = std::make_exception_ptr(
    node_died_error("task '" + t.name() + "' was lost: " + why));
  t.result->seal_error(err);
  task_events::on_end(t, task_state::failed, err);
}

// -- blocking -----------------------------------------------------------------

bool world::block(const std::function<bool()>& done, std::optional<vtime> deadline,
                  std::span<object_slot* const> watch, bool poll) {
  if (current_ != nullptr) {
    // A run: give the thread back to the event loop until it may go on.
    auto& rf = *current_;
    auto lost = [&] { return !rf.rec->actor && nodes_[rf.rec->node].epoch != rf.rec->epoch; };
    if (lost())
      throw node_lost{};
    if (done())
      return fetch(watch, deadline);
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
    return done() && fetch(watch, deadline);
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
    ok = fetch(watch, deadline);
  if (!ok && !deadline && !done())
    throw error("manta sim: deadlock at virtual time " + std::to_string(eng_.now().count())
                + " ns: the driver waits for an object that no simulated event will produce ("
                + std::to_string(ready_.size()) + " task(s) wait for a live node with room, "
                + std::to_string(suspended_.size()) + " run(s) are blocked)");
  return ok;
}

bool world::lost_run(const std::exception_ptr& e) noexcept {
  if (!e)
    return false;
  try {
    std::rethrow_exception(e);
  } catch (const node_lost&) {
    return true;
  } catch (...) {
    return false;
  }
}

manta::sim::run_summary world::summary() const {
  manta::sim::run_summary s;
  s.seed = opts_.seed;
  s.nodes = opts_.nodes;
  s.events = eng_.events();
  s.trace_hash = eng_.trace_hash();
  s.virtual_time = eng_.now();
  s.real_seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  s.external_events = eng_.external();
  s.tasks_lost = tasks_lost_;
  s.actors_killed = actors_killed_;
  s.measured_runs = measured_runs_;
  return s;
}

} // namespace manta::detail::sim
