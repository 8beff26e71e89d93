#pragma once

#include "manta/net/wire.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace manta::detail {
class log_shipper;
class worker_pool;
} // namespace manta::detail

// The state a worker's node manager shares with its data path's threads
// for the task lane's direct hosting (lane_direct.hpp); apart so that
// node_manager.hpp, whose hosted tasks keep a `lane_id_mark`, need not
// include lane_direct.hpp, which includes it.
namespace manta::actors {

/// What the data path's threads share with the node manager to host a
/// task lane's spec themselves (lane_direct.hpp): made by the node manager
/// only with the lane on.
struct lane_direct {
  caf::actor_addr manager;
  std::string token;
  std::shared_ptr<std::atomic<size_t>> hosted;
  std::shared_ptr<detail::log_shipper> logs;
  detail::worker_pool* pool = nullptr;
  /// Lane specs (and tasks to queue) the data path handed to the node
  /// manager, not handled yet: while any, later specs follow them there
  /// rather than overtake them.
  std::atomic<size_t> to_manager{0};
  std::mutex mtx;
  /// The lanes' owners, by key (as `node_manager_state::lane_owners`).
  std::unordered_map<uint64_t, caf::actor> owners;
  /// The ids of the tasks and calls hosted here, or on their way to be
  /// (`lane_id_mark`): the data path leaves a spec whose id is among them
  /// to the node manager, whose duplicate-spec rule decides.
  std::unordered_set<uint64_t> ids;
  /// The node manager's only: lines (and counts of lines dropped) of tasks
  /// the data path hosted, printed and taken from the shipper before their
  /// hosting message came; shipped once it has (`ship_logs`).
  std::vector<detail::wire::log_line> unhosted_lines;
  std::map<uint64_t, uint64_t> unhosted_dropped;
};

/// An id in `lane_direct::ids`, kept by its hosted task: erased when the
/// task leaves `running` (however it leaves). Empty with the lane off.
class lane_id_mark {
public:
  lane_id_mark() = default;
  /// Takes `id`; empty if it is taken already.
  static lane_id_mark take(const std::shared_ptr<lane_direct>& d, uint64_t id) {
    lane_id_mark m;
    std::lock_guard<std::mutex> guard{d->mtx};
    if (d->ids.insert(id).second) {
      m.d_ = d;
      m.id_ = id;
    }
    return m;
  }
  lane_id_mark(lane_id_mark&& other) noexcept : d_(std::move(other.d_)), id_(other.id_) {}
  lane_id_mark& operator=(lane_id_mark&& other) noexcept {
    if (this != &other) {
      release();
      d_ = std::move(other.d_);
      id_ = other.id_;
    }
    return *this;
  }
  ~lane_id_mark() { release(); }
  explicit operator bool() const noexcept { return d_ != nullptr; }

private:
  void release() noexcept {
    if (!d_)
      return;
    {
      std::lock_guard<std::mutex> guard{d_->mtx};
      d_->ids.erase(id_);
    }
    d_.reset();
  }

  std::shared_ptr<lane_direct> d_;
  uint64_t id_ = 0;
};

} // namespace manta::actors
