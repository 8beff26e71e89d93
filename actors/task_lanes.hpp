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
    /// The key of the lane it went on: a node has a lane being retired
    /// beside its new one (`task_lanes::retire`).
    uint64_t key = 0;
    /// The task's dispatch count when it was sent (`placed_task::dispatches`):
    /// the client does the books of that dispatch only.
    int dispatch = 0;
  };

  /// Task `id` was sent on worker `node`'s lane `key`, as its dispatch
  /// `dispatch`.
  void add(uint64_t id, uint16_t node, uint64_t key, int dispatch, detail::task_ptr task);

  /// The reader of worker `node`'s lane claims task `id`: its entry, taken
  /// out, if it is there and was sent to `node`; none otherwise (the client
  /// has it, or had it).
  std::optional<entry> take(uint64_t id, uint16_t node);

  /// The client claims task `id` before it ends or moves it: false if the
  /// reader took it first (its value is sealed, or being sealed, and the
  /// reader's `lane_sealed_atom` is on its way).
  bool claim(uint64_t id);

  /// As `claim`, if task `id` went on lane `key` (a lane that ended on
  /// its own sends again only its own tasks: `lane_down`).
  bool claim_on(uint64_t id, uint64_t key);

  /// The key of the lane task `id` went on, 0 if it has no entry.
  uint64_t key_of(uint64_t id) const;

  /// Entries of tasks sent on lane `key`: a retired lane closes at 0.
  size_t on_lane(uint64_t key) const;

  /// Entries now (the tests see that none is left behind).
  size_t size() const;

private:
  mutable std::mutex mtx_;
  /// Erases `i`, counting it off its lane.
  void erase(std::unordered_map<uint64_t, entry>::iterator i);
  std::unordered_map<uint64_t, entry> entries_;
  std::unordered_map<uint64_t, size_t> per_lane_; ///< `on_lane`
};

/// What this process's driver counts of its lanes (the tests' view).
enum class lane_event : size_t {
  /// Answers lane readers sealed themselves.
  sealed,
  /// Of those, answers sealed on lanes opened in place of a retired one.
  sealed_renewed,
  /// Specs sent again over CAF because the lane they went on ended
  /// without the client shutting it (`lane_down`).
  resent,
  /// Lanes opened (connected).
  opened,
  /// Lanes retired before their TLS key wore out (`task_lanes::retire`).
  retired,
  /// Retired lanes closed once their tasks were answered.
  closed,
  /// Specs the submitting threads wrote on lanes themselves
  /// (`lane_door::submit`).
  spec_by_submitter,
  /// Specs the cluster client wrote on lanes (`lane_spec`).
  spec_by_client,
  count_
};

/// How many times `e` happened in this process.
uint64_t lane_count(lane_event e) noexcept;

/// Counts one `e`; an answer a reader sealed also as `sealed_renewed` if
/// its lane was opened in place of a retired one (`count_lane_sealed`).
void count_lane_event(lane_event e) noexcept;
void count_lane_sealed(bool renewed) noexcept;

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

  /// Worker `node`'s lane if it is up, else null; its key in `*key`.
  detail::task_lane::client* up(uint16_t node, uint64_t* key = nullptr) const;

  /// Worker `node`'s current lane, up or not, and its key in `*key`; null
  /// if it has none (the client publishes it to the submitting threads:
  /// lane_door.hpp).
  std::shared_ptr<detail::task_lane::client> current(uint16_t node, uint64_t* key) const {
    auto i = lanes_.find(node);
    if (i == lanes_.end())
      return nullptr;
    *key = i->second.key;
    return i->second.lane;
  }

  /// Whether `key` is worker `node`'s current lane or one of its retired
  /// lanes (not one that ended or was dropped).
  bool knows(uint16_t node, uint64_t key) const;

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

  /// Ends worker `node`'s lanes, if any: its lane and those retired.
  void drop(uint16_t node);
  /// Ends worker `node`'s current lane only (its retired ones read on).
  void drop_current(uint16_t node);

  /// Worker `node`'s lane takes no new spec from now on (its TLS key is
  /// close to its limit: `client::worn`): it stays open, read by its
  /// reader, until no task sent on it is still out (`close_retired`).
  void retire(uint16_t node);

  /// Whether `key` is a retired lane of worker `node`: then forgets it
  /// (it ended on its own).
  bool forget_retired(uint16_t node, uint64_t key);

  /// Worker `node`'s lane `key`, current or retired, if it is up.
  detail::task_lane::client* by_key(uint16_t node, uint64_t key) const;

  /// Shuts the retired lanes none of whose tasks is still out.
  void close_retired();

  /// Calls `f(node, lane)` for each retired lane (none of them idle).
  template <class F>
  void for_each_retired(F&& f) {
    for (auto& r : retired_)
      f(r.node, *r.lane);
  }

  /// Whether worker `node`'s current lane replaced a retired one.
  bool renewed(uint16_t node) const { return renewed_.count(node) != 0; }

  /// Worker `node`'s lane `key` ended on its own (it is dropped here): how
  /// long to wait before opening another, doubled at each such end in a row
  /// (100 ms to 10 s; a lane that lived 10 s starts over), so a worker
  /// that keeps resetting its lanes is not asked for one again and again.
  std::chrono::milliseconds broke(uint16_t node);

  /// The tasks sent on lanes (null with the lane off).
  const std::shared_ptr<lane_claims>& claims() const noexcept { return claims_; }

  /// The client claims task `id`, sent on a lane, before it ends or moves
  /// it (`lane_claims::claim`).
  bool claim(uint64_t id) {
    if (!claims_)
      return true;
    bool mine = claims_->claim(id);
    if (!retired_.empty())
      close_retired();
    return mine;
  }

private:
  std::shared_ptr<lane_claims> claims_;
  struct open_lane {
    std::shared_ptr<detail::task_lane::client> lane;
    uint64_t key = 0;
    std::chrono::steady_clock::time_point opened;
  };
  std::unordered_map<uint16_t, open_lane> lanes_;
  /// Lanes retired while tasks sent on them are still out.
  struct retired_lane {
    uint16_t node = 0;
    uint64_t key = 0;
    std::shared_ptr<detail::task_lane::client> lane;
  };
  std::vector<retired_lane> retired_;
  /// Workers whose lane was retired (`renewed`).
  std::unordered_map<uint16_t, bool> renewed_;
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
