// Results lost with their node and rebuilt from lineage, as on a cluster
// (docs/simulation.md): a task's result larger than the cluster's inline
// limit stays on the node that made it (object_loss.hpp); when that node
// dies and no node copied it, a read re-runs the task that made it on a
// worker, by the cluster's rule and within its `max_retries`.

#include "manta/sim/sim_world.hpp"

#include "manta/cluster/object_loss.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/errors.hpp"
#include "manta/retry_exceptions.hpp"

#include <algorithm>

namespace manta::detail::sim {

void world::note_held(const object_slot& slot) {
  if (current_ == nullptr || slot.failed() || !result_stays_on_node(slot.size_bytes()))
    return; // made on the driver's node (it stays there), an error, or small: sent back
  auto& r = *current_->rec;
  if (r.actor || r.node == 0 || r.task->result.get() != &slot)
    return; // an actor call's result, or an object put inside the task
  std::lock_guard guard{produced_mtx_};
  // The arguments its lineage keeps for a rebuild, as the driver's
  // `held_result` counts them: those held on a node.
  uint64_t pinned = 0;
  for (auto& dep : r.task->deps)
    if (auto it = held_.find(dep.get()); it != held_.end())
      pinned += dep->size_bytes() + it->second.pinned_bytes;
  auto& h = held_[&slot];
  h.task = r.task;
  h.rebuilds_left = r.task->opts.max_retries; // as the driver's remote_object
  h.node = r.node;
  h.epoch = nodes_[r.node].epoch;
  h.keeps_arguments = pinned > 0 && keeps_arguments(r.task->opts.max_retries, pinned);
  if (h.keeps_arguments)
    h.pinned_bytes = pinned;
}

void world::detach_lineage(task_spec& t) {
  if (!t.result || !t.result->done() || !result_stays_on_node(t.result->size_bytes()))
    return;
  {
    std::lock_guard guard{produced_mtx_};
    if (held_.count(t.result.get()) == 0)
      return;
  }
  // Its lineage keeps the task; a slot of its own keeps the task from
  // keeping the object alive (the object's last ref drops the lineage).
  t.result = std::make_shared<object_slot>(t.result->store(), t.result->id());
}

bool world::lost(const held_result& h) const {
  if (nodes_[h.node].epoch == h.epoch)
    return false;
  return std::none_of(h.copies.begin(), h.copies.end(),
                      [&](auto& c) { return nodes_[c.first].epoch == c.second; });
}

void world::copied(const object_slot* slot, uint32_t node) {
  if (!slot->done() || slot->failed() || !result_stays_on_node(slot->size_bytes()))
    return;
  std::lock_guard guard{produced_mtx_};
  auto it = held_.find(slot);
  if (it == held_.end() || lost(it->second) || it->second.node == node)
    return;
  auto& copies = it->second.copies;
  std::pair<uint32_t, uint64_t> c{node, nodes_[node].epoch};
  if (std::find(copies.begin(), copies.end(), c) == copies.end())
    copies.push_back(c);
}

std::shared_ptr<rebuild_op> world::rebuild_of(const object_slot* slot) {
  std::shared_ptr<rebuild_op> op;
  uint32_t home = 0;
  {
    std::lock_guard guard{produced_mtx_};
    auto it = held_.find(slot);
    if (it == held_.end() || !lost(it->second))
      return nullptr;
    auto& h = it->second;
    if (h.rebuilding)
      return h.rebuilding;
    op = std::make_shared<rebuild_op>();
    op->slot = slot;
    op->task = h.task;
    h.rebuilding = op;
    home = h.node;
  }
  if (nodes_[home].detected < nodes_[home].epoch)
    undetected_.emplace_back(home, op); // the driver reads from the dead node until it notices
  else
    start_rebuild(op);
  return op;
}

void world::start_rebuild(const std::shared_ptr<rebuild_op>& op) {
  std::string why;
  uint32_t home = 0;
  {
    std::lock_guard guard{produced_mtx_};
    auto it = held_.find(op->slot);
    if (it == held_.end())
      return; // freed meanwhile: nobody reads it
    auto& h = it->second;
    home = h.node;
    // The driver's rule (object_loss.hpp), as its `rebuild` applies it.
    switch (after_object_loss(h.task != nullptr, h.rebuilds_left)) {
      case object_loss_verdict::no_lineage:
        why = node_name(h.node) + ", which held it, died before it was read; it has no lineage "
              + "to rebuild it from (simulated)";
        break;
      case object_loss_verdict::retries_used_up:
        why = "its node (" + node_name(h.node)
              + ") died and its task has no retries left to rebuild it (simulated)";
        break;
      case object_loss_verdict::rebuild:
        --h.rebuilds_left;
        break;
    }
  }
  if (!why.empty()) {
    rebuild_over(op, home, why);
    return;
  }
  eng_.note(event_kind::retry, home, op->task->result->id().value());
  ready_.push_back(queued{op->task, 0, op, false});
}

bool world::recover(object_slot* slot, std::optional<vtime> deadline) {
  if (!slot->done() || slot->failed() || !result_stays_on_node(slot->size_bytes()))
    return true;
  for (;;) {
    auto op = rebuild_of(slot);
    if (!op)
      return true; // not lost
    place_ready(); // its rebuild, if it was queued now
    if (!block([op] { return op->over; }, deadline, {}, /*poll=*/true))
      return false;
    if (!op->failure.empty())
      throw object_lost_error("object " + to_string(slot->id()) + " is lost: " + op->failure);
  }
}

void world::lost_argument_failed(queued& q, size_t k, const std::string& failure) {
  if (q.rebuild) {
    // As the driver's `rebuild` fails a rebuild whose argument is lost.
    rebuild_over(q.rebuild, 0,
                 "it could not be rebuilt: argument " + std::to_string(k + 1) + " of its task '"
                   + q.task->name() + "' is lost: " + failure);
    return;
  }
  // As the driver's dispatch fails a task whose argument is lost.
  end_task(
    *q.task, task_state::failed,
    std::make_exception_ptr(object_lost_error("argument " + std::to_string(k + 1) + " of task '"
                                              + q.task->name() + "' is lost: " + failure)));
}

bool world::wait_for_lost_argument(queued& q) {
  if (q.rebuild) {
    // Only a lineage that keeps its arguments rebuilds them first; one that
    // does not reads them where they were (`arrive`).
    std::lock_guard guard{produced_mtx_};
    auto it = held_.find(q.rebuild->slot);
    if (it == held_.end() || !it->second.keeps_arguments)
      return false;
  }
  auto& deps = q.task->deps;
  for (size_t k = 0; k < deps.size(); ++k) {
    auto* dep = deps[k].get();
    if (!dep->done() || dep->failed() || !result_stays_on_node(dep->size_bytes()))
      continue;
    auto op = rebuild_of(dep);
    if (!op)
      continue;
    if (op->over) {
      lost_argument_failed(q, k, op->failure);
      return true;
    }
    op->waiting.push_back(std::move(q));
    return true;
  }
  return false;
}

std::string world::lost_argument(const run_rec& r) {
  for (size_t k = 0; k < r.task->deps.size(); ++k) {
    auto* dep = r.task->deps[k].get();
    if (!dep->done() || dep->failed() || !result_stays_on_node(dep->size_bytes()))
      continue;
    std::lock_guard guard{produced_mtx_};
    auto it = held_.find(dep);
    if (it != held_.end() && lost(it->second))
      return "argument " + std::to_string(k + 1) + " (object " + to_string(dep->id()) + " on "
             + node_name(it->second.node) + ") could not be read: its node died (simulated)";
  }
  return {};
}

void world::rebuild_body(const rec_ptr& r) {
  auto& t = *r->task;
  r->in_code = true;
  this_task().task = &t;
  auto err = t.run();
  this_task().task = nullptr;
  r->in_code = false;
  bool died = nodes_[r->node].epoch != r->epoch;
  retire(r);
  auto id = t.result->id().value();
  // The run sealed a slot of its own, dropped now: the object keeps its
  // first value, the one a deterministic task makes again.
  t.result = std::make_shared<object_slot>(t.result->store(), t.result->id());
  if (died) {
    if (nodes_[r->node].detected > r->epoch)
      rebuild_lost(r);
    else
      doomed_[r->node].push_back(r);
  } else if (err) {
    // As a worker reports it: retryable if its retry policy covers it.
    bool retryable = t.opts.max_retries >= 1
                     && retry_covers(t.opts.retry_exceptions, t.opts.retry_exception_types, err);
    std::string what;
    try {
      std::rethrow_exception(err);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "an exception that is not a std::exception";
    }
    bool again = false;
    {
      std::lock_guard guard{produced_mtx_};
      auto it = held_.find(r->rebuild->slot);
      again = it != held_.end() && rebuild_again(retryable, it->second.rebuilds_left);
      if (again)
        --it->second.rebuilds_left;
    }
    if (again) {
      eng_.note(event_kind::retry, r->node, id);
      ready_.push_back(queued{r->task, 0, r->rebuild, false});
    } else {
      rebuild_over(r->rebuild, r->node, "its rebuild failed: " + what);
    }
  } else {
    rebuild_over(r->rebuild, r->node, {});
  }
  place_ready();
}

void world::rebuild_lost(const rec_ptr& r) {
  auto op = r->rebuild;
  std::string why;
  {
    std::lock_guard guard{produced_mtx_};
    auto it = held_.find(op->slot);
    if (it == held_.end())
      return;
    if (after_object_loss(true, it->second.rebuilds_left) == object_loss_verdict::rebuild) {
      --it->second.rebuilds_left;
    } else {
      why = "its node (" + node_name(r->node)
            + ") died and its task has no retries left to rebuild it (simulated)";
    }
  }
  if (!why.empty()) {
    rebuild_over(op, r->node, why);
    return;
  }
  eng_.note(event_kind::retry, r->node, r->task->result->id().value());
  ready_.push_back(queued{r->task, 0, op, false});
}

void world::rebuild_over(const std::shared_ptr<rebuild_op>& op, uint32_t node,
                         std::string failure) {
  op->over = true;
  op->failure = std::move(failure);
  {
    std::lock_guard guard{produced_mtx_};
    if (auto it = held_.find(op->slot); it != held_.end()) {
      auto& h = it->second;
      h.rebuilding = nullptr;
      if (op->failure.empty()) {
        // Its new home is where the rebuild ran.
        h.node = node;
        h.epoch = nodes_[node].epoch;
        h.copies.clear();
        if (auto p = produced_.find(op->slot); p != produced_.end()) {
          p->second.node = node;
          p->second.at = eng_.now();
        }
      }
    }
  }
  auto waiting = std::move(op->waiting);
  op->waiting.clear();
  for (auto& q : waiting) {
    if (op->failure.empty()) {
      ready_.push_back(std::move(q));
      continue;
    }
    auto& deps = q.task->deps;
    size_t k = 0;
    while (k < deps.size() && deps[k].get() != op->slot)
      ++k;
    lost_argument_failed(q, k, op->failure);
  }
}

} // namespace manta::detail::sim
