#pragma once

#include <cstddef>
#include <cstdint>

/// What becomes of a task's result when the node holding it dies: whether
/// it is held there at all, and what a read of it does once no copy is
/// left. The one rule of a cluster (a worker's `finished_result` in
/// actors/hosted_results.cpp keeps a result or sends it back; the driver's
/// `rebuild` in actors/object_fetches.cpp and its rebuilds' results in
/// actors/cluster_client.cpp) and of the simulator (sim_lineage.cpp). Pure:
/// no runtime.
namespace manta::detail {

/// Results of up to this many encoded bytes travel back to their owner
/// with the task's answer; larger ones stay on the node that made them
/// until the owner reads or frees them.
inline constexpr size_t inline_result_limit = 1024 * 1024;

/// Whether a result of `encoded_size` bytes stays on the node that ran its
/// task, and so is lost with that node unless a copy was made meanwhile.
constexpr bool result_stays_on_node(uint64_t encoded_size) noexcept {
  return encoded_size > inline_result_limit;
}

/// Encoded bytes of arguments that a held result may keep alive for its
/// rebuild, counting those its arguments keep in turn (a chain's
/// intermediates). Past it the chain is cut: a result whose own arguments
/// would go over keeps none.
inline constexpr uint64_t lineage_pin_limit = 256ull * 1024 * 1024;

/// Whether a result held on its node keeps the arguments its task read
/// alive, their values staying where they are, so that its rebuild can
/// read them or rebuild them first when they were lost too (Ray's
/// recursive reconstruction): only if it can be rebuilt at all
/// (`max_retries` > 0) and the bytes that would stay alive for it
/// (`pinned_bytes`: its arguments' and theirs) are within
/// lineage_pin_limit. Otherwise its rebuild reads them where they were,
/// and fails if they are gone.
bool keeps_arguments(int max_retries, uint64_t pinned_bytes);

enum class object_loss_verdict {
  /// Its task runs again on a worker and the read waits for that run; one
  /// of its rebuilds is spent.
  rebuild,
  /// Nothing that made it can run again (an actor call's result): the read
  /// fails with object_lost_error.
  no_lineage,
  /// Its rebuilds used up the task's `max_retries`: the read fails with
  /// object_lost_error.
  retries_used_up,
};

/// A read of an object whose node died with no copy left, or a rebuild of
/// it that died with its node. `has_lineage`: a task made it (its spec is
/// kept); `rebuilds_left`: rebuilds still allowed (at first the task's
/// `max_retries`, whatever its first run spent).
object_loss_verdict after_object_loss(bool has_lineage, int rebuilds_left);

/// A rebuild's run failed: whether it runs again (the task's retry policy
/// covers the failure, and rebuilds are left) instead of failing the read.
bool rebuild_again(bool retryable, int rebuilds_left);

} // namespace manta::detail
