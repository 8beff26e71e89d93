#include "manta/cluster/node_loss.hpp"

namespace manta::detail {

node_loss_verdict after_node_loss(int node_failures, int max_node_failures, int tries,
                                  int max_retries) {
  if (max_node_failures >= 0 && node_failures >= max_node_failures)
    return node_loss_verdict::too_many_node_failures;
  return tries <= max_retries ? node_loss_verdict::retry : node_loss_verdict::retries_used_up;
}

} // namespace manta::detail
