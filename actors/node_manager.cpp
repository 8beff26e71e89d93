#include "actors/node_manager.hpp"

#include "actors/atoms.hpp"
#include "actors/task_runner.hpp"
#include "manta/detail/executor.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

namespace manta::actors {

namespace {

void take(node_manager_state& st, const detail::resource_demand& d) {
  st.free_cpus -= d.cpus;
  for (auto& [name, amount] : d.custom)
    st.free_custom[name] -= amount;
}

void give_back(node_manager_state& st, const detail::resource_demand& d) {
  st.free_cpus += d.cpus;
  for (auto& [name, amount] : d.custom)
    st.free_custom[name] += amount;
}

lease_queue& queue_for(node_manager_state& st, const detail::resource_demand& d) {
  for (auto& q : st.queues)
    if (q.demand.cpus == d.cpus && q.demand.custom == d.custom)
      return q;
  st.queues.push_back(lease_queue{d, {}});
  return st.queues.back();
}

void dispatch(node_manager_actor* self) {
  auto& st = self->state;
  for (auto& q : st.queues) {
    while (!q.tasks.empty()) {
      auto& t = q.tasks.front();
      if (t->cancelled()) {
        reject(*t, std::make_exception_ptr(task_cancelled_error(
                     "task '" + t->name() + "' was cancelled before it ran")));
        q.tasks.pop_front();
        continue;
      }
      if (!q.demand.fits_in(st.free_cpus, st.free_custom))
        break;
      take(st, q.demand);
      st.exec->submit(std::move(t));
      q.tasks.pop_front();
    }
  }
}

} // namespace

caf::behavior node_manager(node_manager_actor* self, double num_cpus,
                           resource_map custom, detail::executor* exec) {
  auto& st = self->state;
  st.total_cpus = st.free_cpus = num_cpus;
  st.total_custom = st.free_custom = std::move(custom);
  st.exec = exec;
  return {
    [=](lease_atom, detail::task_ptr& t) {
      auto& st = self->state;
      if (st.stopping) {
        reject(*t, std::make_exception_ptr(task_cancelled_error(
                     "task '" + t->name() + "' was not run: the runtime shut down")));
        return;
      }
      queue_for(st, t->opts.resources).tasks.push_back(std::move(t));
      dispatch(self);
    },
    [=](release_atom, const detail::task_ptr& t) {
      give_back(self->state, t->opts.resources);
      dispatch(self);
    },
    [=](block_atom, double cpus) {
      self->state.free_cpus += cpus;
      dispatch(self);
    },
    [=](unblock_atom, double cpus) {
      // May overcommit for a moment; new grants wait until it evens out.
      self->state.free_cpus -= cpus;
    },
    [=](resources_atom) {
      auto& st = self->state;
      resource_map free = st.free_custom;
      resource_map total = st.total_custom;
      free[cpu_resource] = std::max(0.0, st.free_cpus);
      total[cpu_resource] = st.total_cpus;
      return caf::make_message(std::move(free), std::move(total));
    },
    [=](stop_atom) {
      auto& st = self->state;
      st.stopping = true;
      for (auto& q : st.queues)
        for (auto& t : q.tasks)
          reject(*t, std::make_exception_ptr(task_cancelled_error(
                       "task '" + t->name() + "' was not run: the runtime shut down")));
      st.queues.clear();
      return true;
    },
  };
}

} // namespace manta::actors
