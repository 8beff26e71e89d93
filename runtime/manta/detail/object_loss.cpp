#include "manta/detail/object_loss.hpp"

namespace manta::detail {

object_loss_verdict after_object_loss(bool has_lineage, int rebuilds_left) {
  if (!has_lineage)
    return object_loss_verdict::no_lineage;
  return rebuilds_left > 0 ? object_loss_verdict::rebuild : object_loss_verdict::retries_used_up;
}

bool rebuild_again(bool retryable, int rebuilds_left) {
  return retryable && rebuilds_left > 0;
}

} // namespace manta::detail
