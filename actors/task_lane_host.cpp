// The worker's side of the direct task lane (net/task_lane.hpp): the data
// path's lane connections hand their frames to the node manager, which
// hosts each task under the lane's owner as if the owner had sent its spec
// over CAF (cancel, printed lines, the owner's death reach it the same
// way); the answer goes back on the lane (`early_answer`) or, when the
// node manager answers, over CAF. A lone plain task that may start at once
// skips the node manager's hop: the data path thread hosts it itself
// (lane_direct.hpp), and runs it too while another loop thread is spare.
#include "actors/cluster_atoms.hpp"
#include "actors/lane_direct.hpp"
#include "actors/node_manager.hpp"
#include "manta/cluster/remote_task.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/sched/worker_pool.hpp"

#include <caf/all.hpp>

#include <atomic>

namespace manta::actors {

namespace {

std::atomic<uint64_t> direct_count{0};

/// A lane task granted its CPUs for the data path thread that read its spec
/// (`host_directly`), which runs it once the lane reads on: run there, or,
/// if that thread never gets to it (the data path stopped first), handed
/// to the pool's threads with its lease.
class granted_task {
public:
  granted_task(detail::worker_pool* pool, detail::task_ptr t) : pool_(pool), task_(std::move(t)) {}
  granted_task(const granted_task&) = delete;
  granted_task& operator=(const granted_task&) = delete;
  ~granted_task() {
    if (task_)
      pool_->pass_granted(std::move(task_));
  }
  void run() { pool_->run_granted(std::move(task_)); }

private:
  detail::worker_pool* pool_;
  detail::task_ptr task_;
};

} // namespace

void serve_task_lanes(node_manager_actor* self) {
  if (!detail::task_lane::enabled())
    return;
  auto d = std::make_shared<lane_direct>();
  d->manager = caf::actor_cast<caf::actor_addr>(self);
  d->token = self->state.token;
  d->hosted = self->state.hosted;
  d->logs = self->state.logs;
  d->pool = self->state.pool;
  self->state.direct = d;
  detail::task_lane::set_handler([d](uint64_t key, const detail::task_lane::frame& f,
                                     std::vector<char> payload, detail::task_lane::later* run) {
    if (f.kind == detail::task_lane::spec && host_directly(d, key, payload, run))
      return;
    auto hdl = caf::actor_cast<caf::actor>(d->manager);
    if (!hdl)
      return;
      // Counted before it is sent: the node manager counts it off once it
      // has handled it, so that no later spec overtakes it (host_directly).
    if (f.kind == detail::task_lane::spec)
      d->to_manager.fetch_add(1, std::memory_order_acq_rel);
    caf::anon_send(hdl, lane_atom::value, key, f.kind, f.id, f.extra, std::move(payload));
  });
}

void add_lane_owner(node_manager_actor* self, uint64_t key, const caf::actor& owner) {
  self->state.lane_owners[key] = owner;
  if (auto& d = self->state.direct) {
    std::lock_guard<std::mutex> guard{d->mtx};
    d->owners[key] = owner;
  }
}

bool host_directly(const std::shared_ptr<lane_direct>& d, uint64_t key,
                   const std::vector<char>& payload, detail::task_lane::later* run) {
  // Not while a spec or a task to queue is on its way to the node manager
  // (it would be overtaken), nor once the runtime shuts down.
  if (d->to_manager.load(std::memory_order_acquire) != 0 || detail::runtime::current() == nullptr)
    return false;
  caf::actor owner;
  {
    std::lock_guard<std::mutex> guard{d->mtx};
    auto i = d->owners.find(key);
    if (i == d->owners.end())
      return false; // the node manager logs it
    owner = i->second;
  }
  // With tasks waiting for resources here (they go first; asked before
  // the spec is decoded: a busy node's specs are decoded once, by the node
  // manager), an actor call, a task of job code (a library to load: not on
  // this thread), or one whose checks fail (the node manager sends the
  // refusal): the node manager hosts it.
  if (d->pool->num_queued() != 0)
    return false;
  auto hdl = caf::actor_cast<caf::actor>(d->manager);
  if (!hdl)
    return false;
  detail::wire::task_message msg;
  if (!detail::wire::decode(payload, msg).empty() || msg.actor_id != 0 || !msg.code.empty())
    return false;
  auto kind = detail::error_kind::generic;
  std::string why;
  auto* fn = hosted_function(msg, kind, why);
  if (fn == nullptr)
    return false;
  // Its id hosted here already: the duplicate-spec rule is the node
  // manager's (submit_hosted).
  auto mark = lane_id_mark::take(d, msg.task_id);
  if (!mark)
    return false;
  auto direct = std::make_shared<direct_task>();
  direct->owner = owner;
  direct->mark = std::move(mark);
  direct->task = build_hosted_task({d->manager, d->token, d->hosted, d->logs}, owner, *fn,
                                   std::move(msg), key, direct->early);
  // On the hosted count before it can run (its thread's answer reads it).
  direct->counted = hosted_counter{d->hosted, direct->early};
  // Told before the pool may run it: whatever the task sends the node
  // manager (its lines, its end) and every later frame of this lane (a
  // cancel) comes after this message (one sender, one receiver: CAF keeps
  // their order).
  caf::anon_send(hdl, lane_direct_atom::value, direct, false);
  detail::task_events::on_waiting_for_resources(*direct->task);
  detail::task_ptr t = direct->task;
  direct_count.fetch_add(1, std::memory_order_relaxed);
  // With a loop thread spare (`run`), it runs on this thread, with the CPU
  // the pool grants it now, as a pool thread would run it: the pool thread's
  // wake-up was most of the worker's part of a lone round trip.
  if (run != nullptr && d->pool->try_grant(t)) {
    *run = [g = std::make_shared<granted_task>(d->pool, std::move(t))] { g->run(); };
    return true;
  }
  if (d->pool->try_schedule(t))
    return true;
  // No room after all (the CPUs are taken): the node manager queues it.
  direct_count.fetch_sub(1, std::memory_order_relaxed);
  d->to_manager.fetch_add(1, std::memory_order_acq_rel);
  caf::anon_send(hdl, lane_direct_atom::value, std::move(direct), true);
  return true;
}

uint64_t direct_lane_specs() noexcept {
  return direct_count.load(std::memory_order_relaxed);
}

void on_lane_frame(node_manager_actor* self, uint64_t key, uint32_t kind, uint64_t id,
                   uint64_t extra, std::vector<char>& payload) {
  auto i = self->state.lane_owners.find(key);
  if (i == self->state.lane_owners.end()) {
    // The owner says hello over CAF before it opens the lane: never here.
    detail::log_line(log_level::warning,
                     "manta: %s: dropped a frame of a task lane no owner announced\n",
                     detail::runtime::node_name().c_str());
  } else if (kind == detail::task_lane::spec) {
    submit_hosted(self, payload, i->second, key);
  } else if (kind == detail::task_lane::cancel) {
    cancel_hosted(self, id, (extra & 1U) != 0, (extra & 2U) != 0);
  }
  // Handled: a later spec may go to the pool from the data path again.
  if (kind == detail::task_lane::spec && self->state.direct)
    self->state.direct->to_manager.fetch_sub(1, std::memory_order_acq_rel);
}

} // namespace manta::actors
