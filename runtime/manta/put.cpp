#include "manta/put.hpp"

#include "manta/detail/object_table.hpp"
#include "manta/detail/runtime.hpp"

namespace manta::detail {

slot_ptr put_value(std::shared_ptr<const void> value, const std::type_info& type,
                   size_t size_bytes) {
  auto& rt = runtime::require("put");
  auto slot = object_table::instance().create(rt.next_object_id());
  slot->seal_value(std::move(value), type, size_bytes);
  return slot;
}

} // namespace manta::detail
