#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace manta::detail::sim {

/// Virtual time since the simulation started.
using vtime = std::chrono::nanoseconds;

/// What an event is, as the trace hash sees it.
enum class event_kind : uint8_t {
  submit = 1, ///< a task was submitted (recorded, not queued)
  place,      ///< a task was given a node; its spec travels there
  arrive,     ///< the spec reached the node: the run starts
  finish,     ///< the run's virtual duration is over: its code runs
  retry,      ///< a run failed and the task goes back to placement
  lost,       ///< a run was lost with its node (or its message)
  fault,      ///< a fault of the schedule was applied
  detect,     ///< the cluster noticed a node's death
  actor_job,  ///< an actor's constructor or drain job runs
  wake,       ///< a callback (an argument sealed, a timer)
  external,   ///< work handed in by a thread outside the simulation
  group,      ///< a placement group's reservation message or retry (sim_groups.cpp)
  reconnect,  ///< the driver tries to connect again to a node cut off (sim_faults.cpp)
};

/// The simulation's clock, event queue, random streams and trace hash. It
/// knows nothing of Manta: one thread (the one that made it) runs events in
/// (time, sequence) order, so two runs that schedule the same events in the
/// same order see the same order, event by event. Work from any other
/// thread arrives through `post`, is counted in `external()` and is a sign
/// that the run touched a path the simulator does not drive.
class engine {
public:
  explicit engine(uint64_t seed);

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  vtime now() const noexcept { return now_; }
  uint64_t seed() const noexcept { return seed_; }

  /// Queues `fn` to run at `when` (not before now). Owner thread only.
  void at(vtime when, event_kind kind, uint32_t node, uint64_t id, std::function<void()> fn);

  /// Queues `fn` at now + `delay`.
  void after(vtime delay, event_kind kind, uint32_t node, uint64_t id, std::function<void()> fn) {
    at(now_ + delay, kind, node, id, std::move(fn));
  }

  /// Adds an event to the trace without queueing anything.
  void note(event_kind kind, uint32_t node, uint64_t id) noexcept;

  /// Hands `fn` in from any thread; it runs as an event at the owner's next
  /// step (or when the owner, idle, waits for it).
  void post(std::function<void()> fn);

  /// Whether the calling thread is the one that runs the events.
  bool on_owner() const noexcept { return std::this_thread::get_id() == owner_; }

  /// Runs the next event; false when none is queued.
  bool step();

  /// Runs events until `done()` holds (true) or the next event lies past
  /// `deadline` or none is left (false; the clock is then moved to the
  /// deadline if it is finite and events remain or `idle_wait` ran out).
  /// An empty queue waits up to `idle_wait` of real time for posted work.
  bool run_until(const std::function<bool()>& done, vtime deadline,
                 std::chrono::milliseconds idle_wait);

  /// The random stream for one purpose ("network", "placement", "faults",
  /// ...), seeded from the seed and the purpose's name, so draws of one
  /// purpose never shift another's.
  std::mt19937_64& stream(std::string_view purpose);

  /// Writes each event as a line to `out` (not owned; null: none).
  void trace_to(std::FILE* out) noexcept { trace_ = out; }

  /// FNV-1a over each event's time, kind, node and id, in run order.
  uint64_t trace_hash() const noexcept { return hash_; }
  uint64_t events() const noexcept { return events_; }
  uint64_t external() const noexcept { return external_; }
  size_t queued() const noexcept { return queue_.size(); }

private:
  struct event {
    vtime when;
    uint64_t seq;
    event_kind kind;
    uint32_t node;
    uint64_t id;
    std::function<void()> fn;
  };
  struct later {
    bool operator()(const event& a, const event& b) const noexcept {
      return a.when != b.when ? a.when > b.when : a.seq > b.seq;
    }
  };

  /// Moves posted work into the queue at the current time.
  bool take_posted();

  uint64_t seed_;
  vtime now_{0};
  uint64_t seq_ = 0;
  uint64_t hash_ = 14695981039346656037ull;
  uint64_t events_ = 0;
  uint64_t external_ = 0;
  std::thread::id owner_;
  std::FILE* trace_ = nullptr;
  std::priority_queue<event, std::vector<event>, later> queue_;
  std::unordered_map<std::string, std::mt19937_64> streams_;
  std::mutex posted_mtx_;
  std::condition_variable posted_cv_;
  std::vector<std::function<void()>> posted_;
};

} // namespace manta::detail::sim
