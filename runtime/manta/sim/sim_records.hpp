#pragma once

#include "manta/resources.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sim/sim_engine.hpp"
#include "manta/sim_cost.hpp"

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace manta::detail {
class actor_core;
class object_slot;
} // namespace manta::detail

/// The records the simulated cluster (sim_world.hpp) keeps of its virtual
/// nodes, its runs, the objects they made and the work waiting to be
/// placed: plain data, read and changed by `world` alone.
namespace manta::detail::sim {

/// One virtual node: whether it lives (and in which life), its free CPUs,
/// its slow factor and its actors.
struct node_state {
  bool alive = true;
  uint64_t epoch = 0;
  /// The epoch its last noticed death began (`detect`): a death whose
  /// epoch is above it is not noticed yet.
  uint64_t detected = 0;
  double free_cpus = 0;
  double slow = 1.0;
  std::vector<std::weak_ptr<actor_core>> actors;
};

struct rebuild_op;

/// A task or actor job placed on a node, from its placement to its end.
struct run_rec {
  task_ptr task;
  /// The node that submitted it, which places it again if it is lost.
  uint32_t from = 0;
  /// Its attempt is counted already (a run unwound by its node's death).
  bool counted = false;
  /// Set for a rebuild of a lost object: the run re-seals nothing.
  std::shared_ptr<rebuild_op> rebuild;
  /// Its virtual time is its measured CPU time (charged before its seal).
  bool measured = false;
  uint32_t node = 0;
  uint64_t epoch = 0;
  double cpus = 0;
  bool actor = false;
  bool in_code = false;
  bool over = false;
  /// It holds its task's custom resources on its node (given back by `retire`).
  bool custom = false;
  std::list<std::shared_ptr<run_rec>>::iterator pos;
};
using rec_ptr = std::shared_ptr<run_rec>;

/// How one function's runs are costed (set_duration / set_cost).
struct cost_rule {
  sim_cost model = sim_cost::declared;
  std::optional<vtime> fixed;
  sim_cost_fn fn;
};

/// A copy of an object sent to a node: when it arrives there (a copy
/// sent to an earlier life of the node is gone with it).
struct sent_copy {
  uint32_t node = 0;
  uint64_t epoch = 0;
  vtime at{0};
};
/// Where and when an object was sealed, and where it was sent since.
struct produced {
  uint32_t node = 0;
  vtime at{0};
  size_t bytes = 0;
  std::vector<sent_copy> sent;
};

/// A task or actor job waiting in the queue, and the node that submitted
/// it (the driver's for a rebuild): a retry of a task lost with its node
/// and an actor job are placed from there.
struct queued {
  task_ptr task;
  uint32_t from = 0;
  std::shared_ptr<rebuild_op> rebuild;
  /// A task lost with its node, placed again by its owner's cluster
  /// client, which offers its own node only to SPREAD or when no other
  /// node has room (task_placement.cpp's `ask_for`).
  bool by_owner = false;
};
/// A rebuild of a lost object (sim_lineage.cpp), shared by the reads and
/// the tasks that wait for it.
struct rebuild_op {
  const object_slot* slot = nullptr;
  task_ptr task;
  bool over = false;
  /// Why it failed (empty: rebuilt).
  std::string failure;
  /// Tasks whose argument it is, placed again once it is rebuilt.
  std::vector<queued> waiting;
};
/// A task's result that stays on the node that made it
/// (object_loss.hpp): its home, the nodes that copied it (each with its
/// epoch then), and its lineage.
struct held_result {
  task_ptr task;
  int rebuilds_left = 0;
  /// Whether its rebuild may rebuild its lost arguments first
  /// (`keeps_arguments`, object_loss.hpp), and the bytes it counts for
  /// them (theirs included).
  bool keeps_arguments = false;
  uint64_t pinned_bytes = 0;
  uint32_t node = 0;
  uint64_t epoch = 0;
  std::vector<std::pair<uint32_t, uint64_t>> copies;
  std::shared_ptr<rebuild_op> rebuilding;
};

/// What an actor's instance holds on its node for its life: its
/// constructor's CPUs and custom resources, as a node's pool keeps an
/// actor's lease (actor_core.cpp). Given back when it dies for good or
/// restarts; gone with its node (a later epoch).
struct actor_hold {
  uint32_t node = 0;
  uint64_t epoch = 0;
  double cpus = 0;
  resource_map custom;
};

} // namespace manta::detail::sim
