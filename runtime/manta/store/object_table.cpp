#include "manta/store/object_table.hpp"

#include "manta/store/object_store.hpp"
#include "manta/sched/task_blocks.hpp"

#include <vector>

namespace manta::detail {

slot_ptr object_table::create(object_id id, const std::shared_ptr<task_spec>& producer) {
  // The slot and its control block from the thread's cache of task blocks,
  // as a task's spec (task_blocks.hpp): every task makes one slot, and
  // malloc and free cost it about 185 instructions (docs/performance.md,
  // "Instructions per task"), a pointer pop and push instead.
  auto slot = std::allocate_shared<object_slot>(task_blocks::allocator<object_slot>{}, &owner_, id,
                                                producer);
  auto& s = shard_of(id);
  {
    std::lock_guard<spin_lock> guard{s.mtx};
    s.slots.emplace(id, slot);
  }
  return slot;
}

slot_ptr object_table::find(object_id id) {
  auto& s = shard_of(id);
  std::lock_guard<spin_lock> guard{s.mtx};
  auto i = s.slots.find(id);
  return i == s.slots.end() ? nullptr : i->second.lock();
}

void object_table::for_each(const std::function<void(const slot_ptr&)>& f) {
  std::vector<slot_ptr> snapshot;
  for (auto& s : shards_) {
    std::lock_guard<spin_lock> guard{s.mtx};
    for (auto& [id, weak] : s.slots)
      if (auto p = weak.lock())
        snapshot.push_back(std::move(p));
  }
  for (auto& p : snapshot)
    f(p);
}

void object_table::erase(object_id id, size_t size_bytes) {
  auto& s = shard_of(id);
  {
    std::lock_guard<spin_lock> guard{s.mtx};
    s.slots.erase(id);
  }
  if (size_bytes != 0) // a small result kept in its slot counts nothing
    bytes_.fetch_sub(size_bytes, std::memory_order_relaxed);
  release();
}

void object_table::release() noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete &owner_;
}

} // namespace manta::detail
