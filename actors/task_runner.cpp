#include "actors/task_runner.hpp"

#include "actors/atoms.hpp"
#include "manta/detail/task_error.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <new>

namespace manta::actors {

namespace {

static_assert(sizeof(caf::actor) <= sizeof(detail::task_spec::runner_storage));

void set_runner(detail::task_spec& t, caf::actor hdl) {
  new (t.runner_storage) caf::actor(std::move(hdl));
  t.has_runner.store(true, std::memory_order_release);
}

/// Requests the lease, or fails the task if an argument failed.
void start(task_runner_actor* self) {
  auto& t = *self->state.task;
  for (auto& dep : t.deps) {
    if (dep->failed()) {
      t.result->seal_error(dep->error());
      self->quit();
      return;
    }
  }
  self->send(self->state.node_manager, lease_atom::value, self->state.task);
}

void finish(task_runner_actor* self) {
  // Drop the links that keep the actor and the task alive before quitting.
  self->quit();
}

} // namespace

void argument_waiter::on_ready() noexcept {
  caf::anon_send(self, ready_atom::value);
}

caf::actor runner_of(const detail::task_spec& t) {
  if (!t.has_runner.load(std::memory_order_acquire))
    return {};
  return *std::launder(reinterpret_cast<const caf::actor*>(t.runner_storage));
}

void reject(detail::task_spec& t, std::exception_ptr error) {
  t.result->seal_error(error);
  if (auto hdl = runner_of(t))
    caf::anon_send(hdl, reject_atom::value);
}

caf::behavior task_runner(task_runner_actor* self, detail::task_ptr task,
                          caf::actor node_manager) {
  auto& st = self->state;
  st.task = std::move(task);
  st.node_manager = std::move(node_manager);
  auto& t = *st.task;
  set_runner(t, caf::actor{self});
  if (t.cancelled()) {
    finish(self);
    return {};
  }
  st.waiter.self = caf::actor{self};
  for (auto& dep : t.deps)
    if (!dep->done() && dep->add_waiter(&st.waiter))
      ++st.pending;
  if (st.pending == 0)
    start(self);
  return {
    [=](ready_atom) {
      if (--self->state.pending == 0)
        start(self);
    },
    [=](done_atom, std::exception_ptr& error) {
      auto& st = self->state;
      auto& t = *st.task;
      self->send(st.node_manager, release_atom::value, st.task);
      if (!error) {
        finish(self);
        return;
      }
      if (t.opts.retry_exceptions && t.attempts <= t.opts.max_retries
          && !t.cancelled() && !detail::is_runtime_error(error)) {
        self->send(st.node_manager, lease_atom::value, st.task);
        return;
      }
      t.result->seal_error(detail::to_task_error(error, t.name()));
      finish(self);
    },
    [=](reject_atom) { finish(self); },
    [=](cancel_atom) {
      auto& st = self->state;
      if (st.pending == 0)
        return; // queued at the node manager or running: handled there
      for (auto& dep : st.task->deps)
        dep->remove_waiter(&st.waiter);
      st.pending = 0;
      finish(self);
    },
  };
}

} // namespace manta::actors
