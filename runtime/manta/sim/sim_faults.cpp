#include "manta/sim/sim_world.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/cluster/reconnect_rule.hpp"
#include "manta/errors.hpp"

#include <algorithm>

// The fault schedule of the simulated cluster: checking and applying
// faults, and what the cluster does when it notices a node's death.
namespace manta::detail::sim {

// -- faults ---------------------------------------------------------------------

void world::add_fault(const sim_fault& f) {
  auto check_node = [&](uint32_t n) {
    if (n >= nodes_.size())
      throw invalid_argument_error("manta sim: a fault names node " + std::to_string(n)
                                   + " but the simulation has nodes 0 to "
                                   + std::to_string(nodes_.size() - 1));
  };
  if (f.what == sim_fault::kind::kill && f.node == 0)
    throw invalid_argument_error("manta sim: node 0 runs the driver and cannot be killed; "
                                 "kill a worker node (1 to "
                                 + std::to_string(nodes_.size() - 1) + ")");
  if (f.what == sim_fault::kind::partition)
    for (auto n : f.group)
      check_node(n);
  else
    check_node(f.node);
  if (f.what == sim_fault::kind::slow && !(f.factor > 0))
    throw invalid_argument_error("manta sim: a slow fault needs a factor > 0");
  eng_.at(f.at, event_kind::fault, f.node, static_cast<uint64_t>(f.what), [this, f] { apply(f); });
}

void world::draw_faults() {
  auto window = std::max<int64_t>(1, opts_.fault_window.count());
  uint32_t others = opts_.nodes - 1; // node 0 stays on the driver's side and fast
  if (opts_.random_partitions > 0 && others > 0) {
    auto& rng = eng_.stream("partitions");
    auto slice = std::max<int64_t>(1, window / opts_.random_partitions);
    for (uint32_t i = 0; i < opts_.random_partitions; ++i) {
      sim_fault cut;
      cut.what = sim_fault::kind::partition;
      cut.at = vtime{slice * i + static_cast<int64_t>(rng() % static_cast<uint64_t>(slice))};
      // A group of 1 to nodes/2 nodes, drawn without repeats.
      std::vector<uint32_t> pool(others);
      for (uint32_t n = 0; n < others; ++n)
        pool[n] = n + 1;
      uint32_t size = 1 + static_cast<uint32_t>(rng() % std::max<uint32_t>(1, opts_.nodes / 2));
      size = std::min(size, others);
      for (uint32_t k = 0; k < size; ++k) {
        auto j = k + static_cast<uint32_t>(rng() % (others - k));
        std::swap(pool[k], pool[j]);
        cut.group.push_back(pool[k]);
      }
      std::sort(cut.group.begin(), cut.group.end());
      add_fault(cut);
      sim_fault heal;
      heal.what = sim_fault::kind::heal;
      heal.at = cut.at + opts_.partition_length;
      add_fault(heal);
    }
  }
  if (opts_.random_slowdowns > 0 && others > 0) {
    auto& rng = eng_.stream("slowdowns");
    for (uint32_t i = 0; i < opts_.random_slowdowns; ++i) {
      sim_fault slow;
      slow.what = sim_fault::kind::slow;
      slow.node = 1 + static_cast<uint32_t>(rng() % others);
      slow.factor = opts_.slow_factor;
      slow.at = vtime{static_cast<int64_t>(rng() % static_cast<uint64_t>(window))};
      add_fault(slow);
      auto back = slow;
      back.factor = 1.0;
      back.at = slow.at + opts_.slow_length;
      add_fault(back);
    }
  }
}

void world::apply(const sim_fault& f) {
  auto& n = nodes_[f.node];
  switch (f.what) {
    case sim_fault::kind::kill:
      // A node declared dead by a cut and killed meanwhile: the driver's
      // tries find no process there (it stays dead until revived).
      reconnecting_.erase(f.node);
      if (!n.alive)
        return;
      down(f.node);
      eng_.after(opts_.detect_after, event_kind::detect, f.node, 0,
                 [this, node = f.node] { detect(node); });
      break;
    case sim_fault::kind::revive:
      if (reconnecting_.erase(f.node) > 0) // back before the driver's next try
        cut_losses_.emplace(f.node, n.epoch);
      if (n.alive)
        return;
      n.alive = true;
      n.free_cpus = opts_.cpus_per_node;
      free_sum_ += n.free_cpus;
      n.slow = 1.0;
      if (!custom_.empty()) { // back empty: its own resources, no bundles
        auto own = opts_.node_resources.find(f.node);
        custom_[f.node].total = own == opts_.node_resources.end() ? resource_map{} : own->second;
        custom_[f.node].free = custom_[f.node].total;
      }
      apart_dirty_ = true;
      wake_groups();
      place_ready();
      break;
    case sim_fault::kind::partition:
      for (auto m : f.group)
        side_[m] = 1;
      // The driver's connections to the nodes now cut off from it go
      // silent: each is closed after the connection timeout.
      for (uint32_t m = 1; m < nodes_.size(); ++m)
        if (nodes_[m].alive && !reachable(0, m))
          eng_.after(connection_timeout_, event_kind::detect, m, 1,
                     [this, m, heals = heals_] { connection_timed_out(m, heals); });
      break;
    case sim_fault::kind::heal:
      // The nodes declared dead come back at the driver's next try to
      // connect to them (reconnect_try), as on a cluster.
      std::fill(side_.begin(), side_.end(), 0);
      ++heals_;
      apart_dirty_ = true;
      wake_groups();
      place_ready();
      break;
    case sim_fault::kind::slow:
      n.slow = f.factor;
      break;
  }
}

void world::down(uint32_t node) {
  auto& n = nodes_[node];
  n.alive = false;
  ++n.epoch;
  free_sum_ -= n.free_cpus;
  // Runs whose code is on the stack unwind at their next wait; the
  // others are lost when the death is noticed.
  for (auto& r : runs_[node])
    if (!r->in_code) {
      r->over = true;
      doomed_[node].push_back(r);
    }
  runs_[node].clear();
  wake_node(node); // its blocked runs unwind now
}

void world::connection_timed_out(uint32_t node, uint64_t heals) {
  if (heals != heals_ || !nodes_[node].alive || reachable(0, node))
    return; // healed meanwhile, or dead already
  down(node);
  reconnecting_[node] = reconnecting{eng_.now(), 0};
  auto silence = std::chrono::duration_cast<std::chrono::milliseconds>(connection_timeout_);
  eng_.after(first_reconnect_try(true, silence), event_kind::reconnect, node, 0,
             [this, node, since = eng_.now()] { reconnect_try(node, since); });
  detect(node, "was cut off from the driver's node for the connection timeout ("
                 + std::to_string(connection_timeout_.count() / 1000000) + " ms)");
}

void world::reconnect_try(uint32_t node, vtime since) {
  auto it = reconnecting_.find(node);
  if (it == reconnecting_.end() || it->second.since != since)
    return; // back or given up meanwhile (this try is of an earlier loss)
  auto& lost = it->second;
  if (reconnect_given_up(eng_.now() - lost.since)) {
    reconnecting_.erase(it); // the driver gives it up: it stays out
    return;
  }
  ++lost.attempts;
  if (!reachable(0, node)) {
    // Into a partition a try's SYNs are dropped: it fails at its bound.
    eng_.after(reconnect_timeout + next_reconnect_try(lost.attempts), event_kind::reconnect, node,
               static_cast<uint64_t>(lost.attempts),
               [this, node, since] { reconnect_try(node, since); });
    return;
  }
  // Back: its loss was a cut connection, which counts against no task's
  // max_node_failures.
  reconnecting_.erase(it);
  cut_losses_.emplace(node, nodes_[node].epoch);
  sim_fault back;
  back.what = sim_fault::kind::revive;
  back.node = node;
  apply(back);
}

void world::detect(uint32_t node, const std::string& why) {
  nodes_[node].detected = nodes_[node].epoch;
  // As the driver does: its bundles are placed again before its tasks go
  // elsewhere (worker_links.cpp's `node_lost`).
  groups_node_lost(node, node_name(node) + " " + why + " (simulated)");
  auto actors = std::move(nodes_[node].actors);
  nodes_[node].actors.clear();
  for (auto& weak : actors) {
    auto core = weak.lock();
    if (!core)
      continue;
    auto it = actor_node_.find(core.get());
    if (it == actor_node_.end() || it->second != node)
      continue; // it lives elsewhere now
    actor_node_.erase(it);
    ++actors_killed_;
    core->kill(node_name(node) + " " + why + " (simulated)", /*restartable=*/true);
  }
  auto doomed = std::move(doomed_[node]);
  doomed_[node].clear();
  for (auto& r : doomed)
    lose(r, node_name(node) + " " + why);
  // Reads of results held there go to their lineage now.
  std::vector<std::shared_ptr<rebuild_op>> rebuilds;
  auto noticed = std::stable_partition(undetected_.begin(), undetected_.end(),
                                       [node](auto& u) { return u.first != node; });
  for (auto it = noticed; it != undetected_.end(); ++it)
    rebuilds.push_back(std::move(it->second));
  undetected_.erase(noticed, undetected_.end());
  for (auto& op : rebuilds)
    start_rebuild(op);
  place_ready();
}

} // namespace manta::detail::sim
