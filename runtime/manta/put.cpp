#include "manta/put.hpp"

#include "manta/store/block_cache.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"

#include <algorithm>

namespace manta::detail {

object_store& put_store() {
  return runtime::require("put").store();
}

slot_ptr put_value(std::shared_ptr<const void> value, const std::type_info& type, size_t size_bytes,
                   const value_codec* codec, const std::source_location& origin) {
  auto& rt = runtime::require("put");
  auto& store = rt.store();
  auto& budget = store.budget();
  budget.admit(size_bytes, "manta::put");
  // Kept buffers give way to live values: the pool and the values together
  // stay within the budget.
  auto used = store.table().bytes_used() + size_bytes;
  auto headroom = budget.limit() - std::min(used, budget.limit());
  auto& pool = store.pool();
  pool.fit(headroom);
  // Then the block cache, within what the pool leaves (block_cache.hpp).
  auto left = headroom - std::min(headroom, pool.kept_bytes());
  if (block_cache::kept_bytes() > left)
    block_cache::trim(left);
  auto slot = store.table().create(rt.next_object_id());
  slot->set_origin(origin);
  slot->seal_value(std::move(value), type, size_bytes, codec);
  return slot;
}

} // namespace manta::detail
