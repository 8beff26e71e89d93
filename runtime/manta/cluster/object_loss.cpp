#include "manta/cluster/object_loss.hpp"

namespace manta::detail {

object_loss_verdict after_object_loss(bool has_lineage, int rebuilds_left) {
  if (!has_lineage)
    return object_loss_verdict::no_lineage;
  return rebuilds_left > 0 ? object_loss_verdict::rebuild : object_loss_verdict::retries_used_up;
}

bool keeps_arguments(int max_retries, uint64_t pinned_bytes) {
  return max_retries > 0 && pinned_bytes <= lineage_pin_limit;
}

bool rebuild_again(bool retryable, int rebuilds_left) {
  return retryable && rebuilds_left > 0;
}

} // namespace manta::detail
