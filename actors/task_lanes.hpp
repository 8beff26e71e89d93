#pragma once

#include "manta/net/task_lane.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

namespace manta::actors {

/// A driver's task lanes (net/task_lane.hpp), one per worker, each read by
/// a thread of its own; owned by the cluster client, which writes on them.
class task_lanes {
public:
  task_lanes() = default;
  task_lanes(const task_lanes&) = delete;
  task_lanes& operator=(const task_lanes&) = delete;
  /// Ends every lane and waits for its reader.
  ~task_lanes();

  /// Worker `node`'s lane if it is up, else null.
  detail::task_lane::client* up(uint16_t node) const;

  /// Worker `node`'s lane (replacing an older one), read by a thread of
  /// its own running `read`. Readers that have ended are joined here, so a
  /// worker that reconnects again and again does not pile up threads.
  void open(uint16_t node, std::shared_ptr<detail::task_lane::client> lane,
            std::function<void()> read);

  /// Ends worker `node`'s lane, if any.
  void drop(uint16_t node);

private:
  std::unordered_map<uint16_t, std::shared_ptr<detail::task_lane::client>> lanes_;
  /// A lane's reading thread, and whether it has returned (then joining
  /// it does not wait).
  struct reader {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<reader> readers_;
};

} // namespace manta::actors
