#pragma once

/// What becomes of a task whose node died under it (while it ran there or
/// was queued there): the one rule of a cluster's driver
/// (actors/worker_links.cpp's `node_lost`) and of the simulator
/// (sim_runs.cpp's `lose`). Pure: no runtime.
namespace manta::detail {

enum class node_loss_verdict {
  /// Placed again, on whichever node the placement rule picks.
  retry,
  /// Nodes died under it `max_node_failures` times: it may be what kills
  /// them, so it fails with node_died_error instead of going to another.
  too_many_node_failures,
  /// Its tries are spent (`1 + max_retries`): it fails with
  /// object_lost_error.
  retries_used_up,
};

/// `node_failures`: the deaths of nodes under it so far, this one included
/// (a driver that cannot tell a death from a cut connection yet waits for
/// it where that decides the verdict: worker_links.cpp, `judge_loss`; the
/// simulator knows at once);
/// `tries`: the times it was sent to a node so far, this one included.
/// `max_node_failures` < 0: no bound of its own.
node_loss_verdict after_node_loss(int node_failures, int max_node_failures, int tries,
                                  int max_retries);

} // namespace manta::detail
