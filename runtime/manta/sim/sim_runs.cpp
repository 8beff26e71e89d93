// The runs of the simulation's tasks and actor jobs on their nodes: their
// arrival, their fibers, how they end, and what a node's death does to them.

#include "manta/sim/sim_world.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/cluster/node_loss.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/errors.hpp"

namespace manta::detail::sim {

void world::arrive(const rec_ptr& r) {
  if (r->over || nodes_[r->node].epoch != r->epoch)
    return; // its node died meanwhile: `detect` handles it
  if (r->actor) {
    run_code(r);
    return;
  }
  if (r->rebuild) {
    // A rebuild reads its arguments where its lineage says: one lost too
    // fails it, as a worker's read of it fails (object_loss.hpp).
    if (auto why = lost_argument(*r); !why.empty()) {
      retire(r);
      rebuild_over(r->rebuild, r->node, "its rebuild failed: " + why);
      place_ready();
      return;
    }
  } else if (auto why = lost_argument(*r); !why.empty()) {
    // An argument lost after the task was placed: its read fails on the
    // node, as a worker's does, and that attempt counts. Its owner fails
    // it if its retries are spent, else places it again, after the
    // argument's rebuild (cluster_client.cpp's `on_result`).
    retire(r);
    auto& t = r->task;
    if (t->attempts.fetch_add(1, std::memory_order_relaxed) + 1 > t->opts.max_retries) {
      end_task(*t, task_state::failed, std::make_exception_ptr(object_lost_error(why)));
    } else {
      eng_.note(event_kind::retry, r->node, id_of(*t));
      ready_.push_back(queued{std::move(t), r->from, nullptr, false});
    }
    place_ready();
    return;
  }
  for (auto& dep : r->task->deps) // the node keeps what it read
    copied(dep.get(), r->node);
  task_events::on_waiting_for_resources(*r->task); // no-op if already so
  vtime d{0};
  try {
    d = duration_of(*r);
  } catch (...) {
    // A cost function that cannot read the task's arguments (or throws):
    // the task fails with its error, as a run that threw would.
    retire(r);
    end_task(*r->task, task_state::failed, std::current_exception());
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
  if (r->rebuild) {
    rebuild_body(r);
    return;
  }
  r->in_code = true;
  bool again = execute_task(r->task);
  r->in_code = false;
  bool died = nodes_[r->node].epoch != r->epoch;
  retire(r);
  if (again && died && !r->actor) {
    // Unwound by its node's death (its attempt counted): it goes by the
    // driver's rule when the death is noticed, as the node's other lost
    // runs do, and is placed from its owner's node.
    r->counted = true;
    if (nodes_[r->node].detected > r->epoch)
      lose(r, node_name(r->node) + " died");
    else
      doomed_[r->node].push_back(r);
  } else if (again) {
    eng_.note(event_kind::retry, r->node, id_of(*r->task));
    ready_.push_back(queued{std::move(r->task), r->from, nullptr, false});
  } else {
    if (!r->actor)
      detach_lineage(*r->task);
    if (!node_failures_.empty())
      node_failures_.erase(id_of(*r->task));
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
    if (r->custom || actors_apart_ > 0) {
      if (r->custom)
        take_custom(r->node, r->task->opts.resources.custom, 1);
      apart_dirty_ = true; // what waits apart for them may fit now
    }
    wake_groups();
    runs_[r->node].erase(r->pos);
  }
}

void world::lose(const rec_ptr& r, const std::string& why) {
  auto& t = r->task;
  ++tasks_lost_;
  eng_.note(event_kind::lost, r->node, id_of(*t));
  if (r->rebuild) {
    rebuild_lost(r);
    return;
  }
  if (r->actor) {
    // Its actor was killed with the node: the job finds a stale epoch and
    // only tidies up (a drain it never runs would count forever).
    execute_task(t);
    return;
  }
  int attempts = r->counted ? t->attempts.load(std::memory_order_relaxed)
                            : t->attempts.fetch_add(1, std::memory_order_relaxed) + 1;
  if (t->cancelled()) {
    node_failures_.erase(id_of(*t));
    return;
  }
  // The driver's rule (node_loss.hpp): every death counts, as the simulator
  // has no cut connections that come back.
  auto& deaths = node_failures_[id_of(*t)];
  deaths.emplace_back(r->node, nodes_[r->node].epoch);
  int failures = 0;
  for (auto& d : deaths)
    failures += cut_losses_.count(d) == 0 ? 1 : 0;
  switch (after_node_loss(failures, t->opts.max_node_failures, attempts, t->opts.max_retries)) {
    case node_loss_verdict::retry:
      eng_.note(event_kind::retry, r->node, id_of(*t));
      ready_.push_back(queued{std::move(t), r->from, nullptr, true}); // placed again by its owner
      return;
    case node_loss_verdict::too_many_node_failures: {
      std::string nodes;
      for (auto& d : deaths)
        if (cut_losses_.count(d) == 0)
          nodes += (nodes.empty() ? "" : ", then ") + node_name(d.first);
      node_failures_.erase(id_of(*t));
      fail(*t, why + " (simulated): it was running (or queued) on a node when that node died, "
                 + std::to_string(failures) + " times (" + nodes
                 + "), so it is not retried on another node; raise the bound with "
                   ".max_node_failures(n) (now "
                 + std::to_string(t->opts.max_node_failures) + ") if nodes die for other reasons");
      return;
    }
    case node_loss_verdict::retries_used_up:
      node_failures_.erase(id_of(*t));
      end_task(*t, task_state::failed,
               std::make_exception_ptr(object_lost_error(
                 "task '" + t->name() + "' was lost: " + why + " (simulated) and its "
                 + std::to_string(t->opts.max_retries) + " retries are used up, after "
                 + std::to_string(attempts) + " attempt(s)")));
      return;
  }
}

void world::fail(task_spec& t, const std::string& why) {
  end_task(t, task_state::failed,
           std::make_exception_ptr(node_died_error("task '" + t.name() + "' was lost: " + why)));
}

} // namespace manta::detail::sim
