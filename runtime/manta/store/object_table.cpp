#include "manta/store/object_table.hpp"

#include "manta/store/object_store.hpp"
#include "manta/sched/task_blocks.hpp"

#include <vector>

namespace manta::detail {

slot_ptr object_table::create(object_id id, const std::shared_ptr<task_spec>& producer) {
  // A task's result slot and its control block from the thread's cache of
  // task blocks, as the task's spec (task_blocks.hpp): malloc and free cost
  // a slot about 185 instructions (docs/performance.md, "Instructions per
  // task"), a pointer pop and push instead. Other slots (put, actor calls,
  // stream items) from malloc: a loop of puts keeps its refs, overflows the
  // cache's few blocks at once and measured 15-25% fewer puts a second with
  // it (`manta microbenchmark`, single_client_put_calls).
  auto slot = producer ? std::allocate_shared<object_slot>(task_blocks::allocator<object_slot>{},
                                                           &owner_, id, producer)
                       : std::make_shared<object_slot>(&owner_, id, producer);
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
