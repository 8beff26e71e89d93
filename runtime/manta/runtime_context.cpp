#include "manta/runtime_context.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_defaults.hpp"
#include "manta/core/job_id.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/worker_pool.hpp"

namespace manta {

namespace {

resource_map as_map(const detail::resource_demand& d) {
  resource_map out = d.custom;
  out[cpu_resource] = d.cpus;
  return out;
}

} // namespace

runtime_context get_runtime_context() {
  auto& rt = detail::runtime::require("get_runtime_context");
  runtime_context ctx;
  ctx.job_id_ = detail::job_id();
  ctx.node_id_ = rt.node_index();
  ctx.node_name_ = detail::runtime::node_name();
  ctx.namespace_ = detail::job_namespace();
  auto* task = detail::this_task().task;
  if (auto* call = detail::current_call(); call != nullptr && call->result)
    ctx.task_id_ = to_string(call->result->id());
  else if (task != nullptr && task->result && task->result->id().valid())
    ctx.task_id_ = to_string(task->result->id()); // not an actor's job (no id)
  if (auto* actor = detail::current_actor()) {
    ctx.actor_id_ = to_string(object_id{actor->id()});
    ctx.resources_ = as_map(actor->options().resources);
    ctx.restarted_ = actor->restarts() > 0;
  } else if (task != nullptr) {
    ctx.resources_ = as_map(task->opts.resources);
  }
  if (task != nullptr)
    ctx.gpu_ids_ = rt.pool().gpu_ids(task->lease_owner());
  return ctx;
}

} // namespace manta
