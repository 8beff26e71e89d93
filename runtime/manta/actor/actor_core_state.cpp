#include "manta/actor/actor_core.hpp"
#include "manta/actor/far_actors.hpp"

#include "manta/core/runtime.hpp"
#include "manta/observe/task_events.hpp"

#include <chrono>

// The state API's view of an actor core (list_actors, list_tasks), apart
// from the engine in actor_core.cpp.

namespace manta::detail {

// -- state API ----------------------------------------------------------------

actor_info actor_core::info() const {
  actor_info out;
  out.id = to_string(object_id{id_});
  out.class_name = cls_.name;
  out.name = opts_.name;
  out.ns = opts_.ns;
  out.node = remote_ ? "node-" + std::to_string(remote_node_) : runtime::node_name();
  out.resources = opts_.resources.custom;
  out.resources[cpu_resource] = opts_.resources.cpus;
  out.restarts = restarts();
  std::lock_guard<std::mutex> guard{mtx_};
  switch (state_) {
    case state::need_ctor:
    case state::constructing:
      out.state = out.restarts > 0 ? "RESTARTING" : "PENDING_CREATION";
      if (out.restarts > 0 && remote_) // why it is not back yet (cluster_actors.cpp)
        out.death_cause = restart_wait(id_);
      break;
    case state::alive:
      out.state = "ALIVE";
      break;
    case state::dead:
      out.state = "DEAD";
      out.death_cause = cause_;
      break;
  }
  out.queued_calls = queue_.size();
  out.running_calls = running_.size();
  out.job = job_;
  out.history = history_;
  return out;
}

void actor_core::note_state_locked(const char* state, std::string detail) {
  if (history_.size() == max_history)
    history_.erase(history_.begin() + 1); // keep the creation
  auto now = std::chrono::system_clock::now().time_since_epoch();
  history_.push_back(
    {state, std::chrono::duration_cast<std::chrono::microseconds>(now).count(), std::move(detail)});
}

void actor_core::list_calls(std::vector<task_info>& out) const {
  auto one = [&](const actor_call& c, task_state s) {
    task_info t;
    t.id = c.result ? c.result->id() : object_id{};
    t.name = c.call_name.empty() ? cls_.name + "." + c.method_name : c.call_name;
    t.kind = "actor_call";
    t.state = s;
    t.actor = display_name_;
    t.node = remote_ ? "node-" + std::to_string(remote_node_) : runtime::node_name();
    t.parent = c.trace.parent;
    t.attempts = c.retries + 1;
    t.suspended = c.trace.suspended.load(std::memory_order_relaxed);
    if (c.trace.tracked) {
      t.submitted_us = task_events::to_wall_us(c.trace.submitted_ns);
      if (auto start = c.trace.started_ns.load(std::memory_order_relaxed))
        t.started_us = task_events::to_wall_us(start);
      t.thread_id = c.trace.thread.load(std::memory_order_relaxed);
    }
    out.push_back(std::move(t));
  };
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& c : running_)
    one(*c, task_state::running);
  for (auto& c : queue_)
    one(*c, c->deps_done() ? task_state::queued_in_actor : task_state::pending_args);
}

} // namespace manta::detail
