#pragma once

#include <chrono>
#include <functional>

/// The simulator's hook for a `get` (get.cpp), apart from sim_hooks.hpp:
/// a read, unlike a `wait`, rebuilds a lost object (docs/simulation.md).
namespace manta::detail {

class object_slot;

/// `get` on the driving thread: as `sim_block` watching `slot`, and if
/// `slot`'s node died with no copy left, its rebuild from lineage first
/// (object_loss.hpp); throws object_lost_error if it cannot be rebuilt.
bool sim_block_read(const std::function<bool()>& done,
                    std::chrono::steady_clock::time_point deadline, object_slot& slot);

} // namespace manta::detail
