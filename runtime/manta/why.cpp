#include "manta/why.hpp"

#include "manta/observe/json.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/state.hpp"

#include <cstdio>
#include <mutex>
#include <vector>

namespace manta {

namespace {

/// Everything the state API knows, gathered once per explanation.
struct snapshot {
  std::vector<task_info> tasks = list_tasks();
  std::vector<actor_info> actors = list_actors();

  const task_info* task(object_id id) const {
    for (auto& t : tasks)
      if (t.id == id)
        return &t;
    return nullptr;
  }

  const actor_info* actor(const std::string& display) const {
    for (auto& a : actors) {
      auto name = a.class_name + (a.name.empty() ? "" : " '" + a.name + "'");
      if (name == display)
        return &a;
    }
    return nullptr;
  }
};

std::string seconds_since(int64_t us) {
  auto now = detail::task_events::to_wall_us(detail::task_events::now_ns());
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(now - us) * 1e-6);
  return buf;
}

std::string resources_text(const resource_map& r) {
  return detail::json::to_json(r);
}

void explain(const snapshot& snap, object_id id, int depth, std::string& out);

void explain_task(const snapshot& snap, const task_info& t,
                  const std::shared_ptr<detail::task_spec>& spec, int depth, std::string& out) {
  std::string pad(static_cast<size_t>(depth) * 2 + 2, ' ');
  switch (t.state) {
    case task_state::pending_args: {
      out += pad + "waits for its arguments:\n";
      std::vector<object_id> waiting; // read under the lock its end takes
      if (spec) {
        std::lock_guard<detail::spin_lock> guard{spec->args_lock};
        for (auto& dep : spec->deps)
          if (dep && !dep->done())
            waiting.push_back(dep->id());
      }
      for (auto id : waiting)
        explain(snap, id, depth + 1, out);
      break;
    }
    case task_state::waiting_for_resources: {
      auto& rt = detail::runtime::require("why");
      if (t.node != detail::runtime::node_name()) {
        // Sent to a worker and queued there (its node manager said so).
        out += pad + "waits for resources on " + t.node + ": it needs "
               + (spec ? spec->opts.resources.to_string() : std::string{"its resources"})
               + ", which the tasks running there hold; it is queued there and starts when "
                 "they free up (or runs on another node that has a free CPU first)\n";
        break;
      }
      auto [free, total] = rt.pool().resources();
      std::string demand = spec ? spec->opts.resources.to_string() : "its resources";
      out += pad + "waits for resources: it needs " + demand + "; the node has "
             + resources_text(free) + " free of " + resources_text(total) + ", "
             + std::to_string(rt.pool().num_queued()) + " task(s) queued\n";
      size_t shown = 0;
      for (auto& r : snap.tasks)
        if (r.state == task_state::running && shown++ < 5)
          out += pad + "  held by running " + r.kind + " " + to_string(r.id) + " " + r.name
                 + " (for " + seconds_since(r.started_us) + ")\n";
      break;
    }
    case task_state::queued_in_actor: {
      auto* a = snap.actor(t.actor);
      out += pad + "is queued in actor " + t.actor;
      if (a != nullptr)
        out += " (" + a->state + ", " + std::to_string(a->queued_calls) + " call(s) queued, "
               + std::to_string(a->running_calls) + " running)";
      out += "\n";
      if (a != nullptr && a->state == "PENDING_CREATION") {
        auto free = detail::runtime::require("why").pool().resources().first;
        out += pad
               + "  the actor is not created yet: its constructor waits for its arguments "
                 "or for its resources "
               + resources_text(a->resources) + " (free now: " + resources_text(free)
               + "), or runs\n";
      } else if (a != nullptr && a->state != "ALIVE") {
        out += pad + "  the actor is " + a->state
               + (a->death_cause.empty() ? "" : ": " + a->death_cause) + "\n";
      }
      break;
    }
    case task_state::running:
      out += pad + "runs on " + (t.thread.empty() ? t.node : t.thread + " of " + t.node) + " since "
             + seconds_since(t.started_us) + " ago";
      if (spec && spec->blocked_on.load() != nullptr)
        out += "; it is blocked in get/wait on another object";
      out += "\n";
      break;
    default:
      out += pad + "ended: " + std::string{to_string(t.state)}
             + (t.error.empty() ? "" : " (" + t.error + ")") + "\n";
      break;
  }
}

void explain(const snapshot& snap, object_id id, int depth, std::string& out) {
  std::string pad(static_cast<size_t>(depth) * 2, ' ');
  if (depth > 16) {
    out += pad + "... (the chain goes deeper)\n";
    return;
  }
  auto* rt = detail::runtime::live();
  auto slot = rt != nullptr ? rt->store().table().find(id) : nullptr;
  auto* t = snap.task(id);
  std::string head = pad + "object " + to_string(id);
  if (t != nullptr)
    head += " (" + t->kind + " " + t->name + ", " + std::string{to_string(t->state)} + ")";
  if (slot && slot->done()) {
    out += head
           + (slot->failed() ? ": failed: " + detail::task_events::describe(slot->error())
                             : std::string{": ready"})
           + "\n";
    return;
  }
  if (!slot && t == nullptr) {
    out += head + ": unknown here (never created on this node, or freed and forgotten)\n";
    return;
  }
  if (!slot) {
    out += head + ": no longer held by any reference\n";
    explain_task(snap, *t, nullptr, depth, out);
    return;
  }
  out += head + ": pending\n";
  if (t == nullptr) {
    out += pad + "  no task record (task events off, or not produced by a task)\n";
    return;
  }
  explain_task(snap, *t, slot->producer(), depth, out);
}

} // namespace

std::optional<object_id> parse_object_id(std::string_view text) noexcept {
  if (text.empty() || text.size() > 16)
    return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return object_id{v};
}

std::string why(object_id id) {
  detail::runtime::require("why");
  snapshot snap;
  std::string out;
  explain(snap, id, 0, out);
  return out;
}

} // namespace manta
