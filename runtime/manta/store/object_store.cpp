#include "manta/store/object_store.hpp"

namespace manta::detail {

object_store* object_store::make(const settings& cfg) {
  return new object_store(cfg);
}

object_store::object_store(const settings& cfg)
  : table_(*this), budget_(*this, table_, cfg.memory_limit), held_(*this), pool_(*this) {
  spill_.configure(cfg.spill_directory, cfg.spilling);
  pool_.enable(true);
}

object_store::~object_store() {
  // A store its runtime never closed (an `init` that failed part way).
  try {
    close();
  } catch (...) {
    // Its files stay behind; nothing else is lost.
  }
}

void object_store::close() {
  if (closed_.exchange(true))
    return; // once: a later store may have set the block cache's capacity
  held_.clear();
  spill_.clear();
  pool_.enable(false);
}

} // namespace manta::detail
