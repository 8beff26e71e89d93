#pragma once

#include "manta/net/task_lane.hpp"
#include "manta/sched/task_spec.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace manta::actors {

/// The tasks a driver sent on its lanes whose answer is still to come, so
/// that a lane's reader can seal a lone task's value itself, off the
/// cluster client's mailbox (`start_lane`), while whatever else ends or
/// moves such a task stays the client's. Whoever takes a task's entry out
/// first ends that dispatch of it, exactly once: the reader (a successful
/// inline value read on the lane of the node it was sent to), or the
/// client (any other answer, the node's loss, a steal), which claims it
/// before it acts. One table for all lanes: an entry outlives the lane it
/// was sent on (dropped and opened again), so an answer that comes another
/// way still finds it. Exists only with the lane on.
class lane_claims {
public:
  /// What the reader takes out.
  struct entry {
    detail::task_ptr task;
    uint16_t node = 0;
    /// The task's dispatch count when it was sent (`placed_task::dispatches`):
    /// the client does the books of that dispatch only.
    int dispatch = 0;
  };

  /// Task `id` was sent on worker `node`'s lane, as its dispatch `dispatch`.
  void add(uint64_t id, uint16_t node, int dispatch, detail::task_ptr task);

  /// The reader of worker `node`'s lane claims task `id`: its entry, taken
  /// out, if it is there and was sent to `node`; none otherwise (the client
  /// has it, or had it).
  std::optional<entry> take(uint64_t id, uint16_t node);

  /// The client claims task `id` before it ends or moves it: false if the
  /// reader took it first (its value is sealed, or being sealed, and the
  /// reader's `lane_sealed_atom` is on its way).
  bool claim(uint64_t id);

  /// Entries now (the tests see that none is left behind).
  size_t size() const;

private:
  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, entry> entries_;
};

/// How many answers lane readers of this process sealed themselves.
uint64_t lane_answers_sealed() noexcept;

/// How many specs this process sent again over CAF because the lane they
/// went on ended without the client shutting it (`lane_down`).
uint64_t lane_specs_resent() noexcept;

/// A driver's task lanes (net/task_lane.hpp), one per worker, each read by
/// a thread of its own; owned by the cluster client, which writes on them.
class task_lanes {
public:
  /// With the lane on, makes the claims table its readers share.
  task_lanes();
  task_lanes(const task_lanes&) = delete;
  task_lanes& operator=(const task_lanes&) = delete;
  /// Ends every lane and waits for its reader.
  ~task_lanes();

  /// Worker `node`'s lane if it is up, else null.
  detail::task_lane::client* up(uint16_t node) const;

  /// Worker `node`'s lane with key `key` (replacing an older one), read by
  /// a thread of its own running `read`. Readers that have ended are joined
  /// here, so a worker that reconnects again and again does not pile up
  /// threads.
  void open(uint16_t node, uint64_t key, std::shared_ptr<detail::task_lane::client> lane,
            std::function<void()> read);

  /// Calls `f(node, lane)` for each worker's lane, up or not.
  template <class F>
  void for_each(F&& f) {
    for (auto& [node, open] : lanes_)
      f(node, *open.lane);
  }

  /// Whether worker `node` has a lane (up or not).
  bool has(uint16_t node) const { return lanes_.count(node) != 0; }

  /// Whether worker `node`'s lane is the one with key `key`.
  bool is(uint16_t node, uint64_t key) const;

  /// Ends worker `node`'s lane, if any.
  void drop(uint16_t node);

  /// Worker `node`'s lane `key` ended on its own (it is dropped here): how
  /// long to wait before opening another, doubled at each such end in a row
  /// (100 ms to 10 s; a lane that lived 10 s starts over), so a worker
  /// that keeps resetting its lanes is not asked for one again and again.
  std::chrono::milliseconds broke(uint16_t node);

  /// The tasks sent on lanes (null with the lane off).
  const std::shared_ptr<lane_claims>& claims() const noexcept { return claims_; }

  /// The client claims task `id`, sent on a lane, before it ends or moves
  /// it (`lane_claims::claim`).
  bool claim(uint64_t id) { return !claims_ || claims_->claim(id); }

private:
  std::shared_ptr<lane_claims> claims_;
  struct open_lane {
    std::shared_ptr<detail::task_lane::client> lane;
    uint64_t key = 0;
    std::chrono::steady_clock::time_point opened;
  };
  std::unordered_map<uint16_t, open_lane> lanes_;
  /// The lanes of each worker that ended on their own in a row (`broke`).
  std::unordered_map<uint16_t, int> breaks_;
  /// A lane's reading thread, and whether it has returned (then joining
  /// it does not wait).
  struct reader {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<reader> readers_;
};

} // namespace manta::actors
