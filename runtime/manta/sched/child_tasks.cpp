#include "manta/sched/child_tasks.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/sched/worker_pool.hpp"

#include <algorithm>

namespace manta::detail {

void child_list::add(const slot_ptr& child) {
  std::lock_guard<spin_lock> guard{lock_};
  if (slots_.size() >= sweep_at_) {
    std::erase_if(slots_, [](const std::weak_ptr<object_slot>& w) {
      auto s = w.lock();
      return !s || s->done();
    });
    sweep_at_ = std::max<size_t>(16, slots_.size() * 2);
  }
  slots_.push_back(child);
}

std::vector<slot_ptr> child_list::take() {
  std::vector<std::weak_ptr<object_slot>> all;
  {
    std::lock_guard<spin_lock> guard{lock_};
    all.swap(slots_);
  }
  std::vector<slot_ptr> out;
  for (auto& w : all)
    if (auto s = w.lock(); s && !s->done())
      out.push_back(std::move(s));
  return out;
}

void note_child(const slot_ptr& child) {
  if (auto* c = current_call()) {
    c->children.add(child);
    return;
  }
  // A pool thread running an actor's job outside a method (its constructor,
  // an async method's later steps) has no task to cancel it by.
  if (current_actor() != nullptr)
    return;
  if (auto* t = this_task().task)
    t->children.add(child);
}

} // namespace manta::detail
