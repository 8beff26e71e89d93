#pragma once

#include "manta/actor/actor_anchor.hpp"
#include "manta/state.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::detail {

/// The node's actors: names to actors (what `get_actor` looks up) and every
/// live actor, so `shutdown` can stop them all. Named actors are held
/// weakly unless detached: a name alone does not keep an actor alive, as
/// in Ray. A part of the runtime (`runtime::actors()`), gone with it.
class actor_directory {
public:
  /// Records a new actor and returns it; throws `actor_exists_error` if
  /// its name is taken by a live actor, unless it was created with
  /// `get_if_exists`: then returns that actor (and records nothing).
  anchor_ptr add(const anchor_ptr& anchor);

  /// The live actor named `name` in `ns`, or null.
  anchor_ptr find(const std::string& ns, const std::string& name);

  /// Forgets a dead actor (its name becomes free).
  void remove(const actor_core& core);

  /// Kills every actor (runtime shutdown): pending calls fail, instances
  /// are destroyed, names are freed.
  void stop_all();

  /// Every live actor (state API).
  std::vector<std::shared_ptr<actor_core>> live();

  /// Keeps the last moments of a dead actor, so `list_actors` can say why
  /// it died after its core is gone (the most recent `dead_history` ones).
  void record_dead(actor_info info);
  std::vector<actor_info> dead();
  static constexpr size_t dead_history = 1000;

  /// Why actor `core_id`, restarting on another node, is not back yet
  /// ("" when nothing is said): set and cleared by the cluster client
  /// (cluster_actors.cpp), shown as the restarting actor's cause. Kept
  /// here, not per process, because ids start over with each runtime: a
  /// wait the runtime left pending would name the next runtime's actor.
  void set_restart_wait(uint64_t core_id, std::string what);
  std::string restart_wait(uint64_t core_id);

private:
  struct entry {
    std::weak_ptr<actor_anchor> weak;
    /// Only for detached actors: the directory keeps them alive.
    anchor_ptr strong;
    const actor_core* core = nullptr;
  };

  std::mutex mtx_;
  std::map<std::pair<std::string, std::string>, entry> named_;
  std::vector<std::weak_ptr<actor_core>> all_;
  /// Size of `all_` at which dead entries are swept next.
  size_t sweep_at_ = 1024;
  std::deque<actor_info> dead_;
  /// Its own lock, taken last: an actor asks while it holds its own.
  std::mutex waits_mtx_;
  std::unordered_map<uint64_t, std::string> restart_waits_;
};

} // namespace manta::detail
