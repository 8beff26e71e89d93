#include "actors/task_runner.hpp"

#include "actors/atoms.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/sched/task_placer.hpp"
#include "manta/sched/worker_pool.hpp"

#include <caf/all.hpp>

#include <new>

namespace manta::actors {

namespace {

static_assert(sizeof(caf::actor) <= sizeof(detail::task_spec::runner_storage));

void set_runner(detail::task_spec& t, caf::actor hdl) {
  new (t.runner_storage) caf::actor(std::move(hdl));
  t.has_runner.store(true, std::memory_order_release);
}

/// All arguments exist: hand the task over and stop waiting.
void start(task_runner_actor* self) {
  auto& st = self->state;
  hand_over(std::move(st.task), *st.pool, st.placer);
  self->quit();
}

} // namespace

void hand_over(detail::task_ptr task, detail::worker_pool& pool, detail::task_placer* placer) {
  for (auto& dep : task->deps) {
    if (dep->failed()) {
      detail::end_task(*task, task_state::failed, dep->error());
      return;
    }
  }
  detail::task_events::on_waiting_for_resources(*task);
  if (detail::sim_engaged())
    detail::sim_schedule(std::move(task)); // a virtual node runs it
  else if (placer == nullptr)
    pool.schedule(std::move(task));
  else if (task->opts.strategy.kind != scheduling_strategy::default_placement)
    placer->dispatch(std::move(task)); // the cluster client chooses the node
  else if (!pool.try_schedule(task))
    placer->dispatch(std::move(task)); // local node first, others when busy
}

void argument_waiter::on_ready() noexcept {
  caf::anon_send(self, ready_atom::value);
}

void notify_cancelled(const detail::task_spec& t) {
  if (!t.has_runner.load(std::memory_order_acquire))
    return;
  auto& hdl = *std::launder(reinterpret_cast<const caf::actor*>(t.runner_storage));
  caf::anon_send(hdl, cancel_atom::value);
}

caf::behavior task_runner(task_runner_actor* self, detail::task_ptr task, detail::worker_pool* pool,
                          detail::task_placer* placer) {
  auto& st = self->state;
  st.task = std::move(task);
  st.pool = pool;
  st.placer = placer;
  auto& t = *st.task;
  if (t.cancelled()) {
    self->quit();
    return {};
  }
  for (auto& dep : t.deps) {
    if (dep->done())
      continue;
    if (!t.has_runner.load(std::memory_order_relaxed)) {
      // Only a task that has to wait needs to be found (by cancel) and woken.
      set_runner(t, caf::actor{self});
      st.waiter.self = caf::actor{self};
    }
    if (dep->add_waiter(&st.waiter))
      ++st.pending;
  }
  if (st.pending == 0) {
    start(self);
    return {};
  }
  return {
    [=](ready_atom) {
      if (--self->state.pending == 0)
        start(self);
    },
    [=](cancel_atom) {
      auto& st = self->state;
      for (auto& dep : st.task->deps)
        dep->remove_waiter(&st.waiter);
      self->quit();
    },
  };
}

} // namespace manta::actors
