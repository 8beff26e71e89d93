#pragma once

#include "manta/store/object_slot.hpp"
#include "manta/core/spin_lock.hpp"

#include <memory>
#include <mutex>
#include <vector>

namespace manta::detail {

/// The tasks and actor calls a task (or actor call) submitted while it ran,
/// by their result slots, held weakly: cancelling the parent cancels them
/// too (recursive cancel, Ray's default). Finished children are pruned as
/// the list grows, so a parent that submits a million short tasks keeps
/// only the unfinished ones.
class child_list {
public:
  /// Records a child submitted by the owner of this list.
  void add(const slot_ptr& child);

  /// Takes the children still unfinished (the list is left empty).
  std::vector<slot_ptr> take();

private:
  spin_lock lock_;
  std::vector<std::weak_ptr<object_slot>> slots_;
  /// Size at which finished children are swept out next.
  size_t sweep_at_ = 16;
};

/// Records `child` as a child of what the calling thread runs now: the
/// actor call inside a method, else the task on a pool thread; nothing on
/// other threads (the driver's main thread) and in an async method's later
/// steps.
void note_child(const slot_ptr& child);

} // namespace manta::detail
