// The pool's resource leases: the queue of the tasks waiting for each
// demand, the CPUs, GPUs (by index) and custom resources a granted task
// holds while it runs, and the CPUs a task blocked in `get` lends to other
// tasks meanwhile (worker_pool.hpp), and the public readers of what is
// leased, queued and started. Everything here but those readers runs with
// the pool's lock held.

#include "manta/store/allocation_hook.hpp"
#include "manta/sched/gpu_env.hpp"
#include "manta/placement/placement_groups.hpp"
#include "manta/sched/worker_pool_state.hpp"

#include <algorithm>

namespace manta::detail {

namespace {

// The rare steps of `group_for` out of line: inlined, the growth of the
// vector and the custom maps' comparison made every call save six
// registers, 41 instructions a task for one comparison of CPUs.

/// Adds the queue of a demand not seen before. A template only to name the
/// pool's private type.
template <class Groups>
[[gnu::noinline]] auto& add_group(Groups& waiting, const resource_demand& d) {
  waiting.push_back({d, {}});
  return waiting.back();
}

[[gnu::noinline]] bool same_custom(const resource_map& x, const resource_map& y) {
  return x == y;
}

} // namespace

worker_pool::waiting_group& worker_pool::state::group_for(const resource_demand& d) {
  // `g.demand == d`, the maps compared only when the group's is not empty.
  for (auto& g : waiting)
    if (g.demand.cpus == d.cpus
        && (g.demand.custom.empty() ? d.custom.empty() : same_custom(g.demand.custom, d.custom)))
      return g;
  return add_group(waiting, d);
}

bool worker_pool::state::try_take(const resource_demand& d, const void* owner) {
  if (!d.fits_in(free_cpus, free_custom))
    return false;
  // CPUs only (nearly every task): no lookup in the map (two calls a task).
  if (!d.custom.empty()) {
    if (auto gpus = d.custom.find(gpu_resource); gpus != d.custom.end() && gpus->second > 0) {
      auto picked = pick_gpus(gpu_free, gpus->second);
      if (picked.empty())
        return false; // enough in all, but not on whole GPUs (fragments)
      for (auto& [index, amount] : picked)
        gpu_free[static_cast<size_t>(index)] -= amount;
      gpu_leases[owner] = std::move(picked);
    }
    for (auto& [name, amount] : d.custom)
      free_custom[name] -= amount;
  }
  free_cpus -= d.cpus;
  return true;
}

void worker_pool::state::give_back(const resource_demand& d, const void* owner) {
  free_cpus += d.cpus;
  if (d.custom.empty())
    return; // CPUs only (see try_take)
  for (auto& [name, amount] : d.custom) {
    // A removed placement group's bundle (placement_groups.hpp): dropped,
    // so that nothing still queued for it (a dead actor's constructor) is
    // granted and the map does not grow with every group.
    if (stale_bundle(name)) {
      free_custom.erase(name);
      continue;
    }
    free_custom[name] += amount;
  }
  // Only a lease of GPUs frees GPUs: an actor's drain jobs (no resources)
  // share the actor as owner with the lease its constructor job took.
  auto gpus = d.custom.find(gpu_resource);
  if (gpus == d.custom.end() || gpus->second <= 0)
    return;
  if (auto i = gpu_leases.find(owner); i != gpu_leases.end()) {
    for (auto& [index, amount] : i->second)
      gpu_free[static_cast<size_t>(index)] += amount;
    gpu_leases.erase(i);
  }
}

void worker_pool::state::lend(double cpus, std::vector<task_ptr>& dropped) {
  free_cpus += cpus;
  grant_waiting(dropped);
}

void worker_pool::state::reclaim(double cpus) {
  free_cpus -= cpus;
}

std::vector<int> worker_pool::gpu_ids(const void* owner) const {
  std::vector<int> out;
  std::lock_guard<std::mutex> guard{st_->mtx};
  if (auto i = st_->gpu_leases.find(owner); i != st_->gpu_leases.end())
    for (auto& [index, amount] : i->second)
      out.push_back(index);
  return out;
}

std::pair<resource_map, resource_map> worker_pool::resources() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  std::pair<resource_map, resource_map> out{st_->free_custom, st_->total_custom};
  out.first[cpu_resource] = std::max(0.0, st_->free_cpus);
  out.second[cpu_resource] = st_->total_cpus;
  return out;
}

size_t worker_pool::num_queued() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  size_t n = 0;
  for (auto& g : st_->waiting)
    n += g.tasks.size();
  return n;
}

size_t worker_pool::num_threads() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->threads.size();
}

void lend_current_cpus() noexcept {
  auto& ctx = this_task();
  if (ctx.task == nullptr || ctx.pool == nullptr || ctx.task->opts.resources.cpus <= 0)
    return;
  // Granting may start a thread (it allocates): never stopped half-way by
  // the memory monitor, which would terminate the node here.
  allocation_hook::hold_off no_stop;
  auto& st = *static_cast<worker_pool::state*>(ctx.pool);
  std::vector<task_ptr> dropped; // destroyed after the guard unlocks
  std::lock_guard<std::mutex> guard{st.mtx};
  st.lend(ctx.task->opts.resources.cpus, dropped);
}

void reclaim_current_cpus() noexcept {
  auto& ctx = this_task();
  if (ctx.task == nullptr || ctx.pool == nullptr || ctx.task->opts.resources.cpus <= 0)
    return;
  auto& st = *static_cast<worker_pool::state*>(ctx.pool);
  std::lock_guard<std::mutex> guard{st.mtx};
  st.reclaim(ctx.task->opts.resources.cpus);
}

} // namespace manta::detail
