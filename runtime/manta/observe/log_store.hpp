#pragma once

#include "manta/object_id.hpp"

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace manta::detail {

/// One kept line with who printed it, as `manta logs` and /api/log_lines
/// show it.
struct log_entry {
  /// Counts every kept line of the process from 1, so a reader that saw up
  /// to `seq` asks for what came after (`manta logs --follow`).
  uint64_t seq = 0;
  object_id task; ///< The task or actor call (its result's id).
  std::string name; ///< "add", "counter 'c1'.incr".
  std::string line;
};

/// What `log_store::query` returns.
struct log_query {
  /// Only this task's lines; all tasks when invalid.
  object_id task;
  /// Only lines of calls of this actor (its id, `runtime_context::get_actor_id`)
  /// when non-zero, and, with `actor_prefix`, lines of calls whose name starts
  /// with it (a remote named actor's calls, shipped to its caller without the
  /// actor's id).
  uint64_t actor = 0;
  std::string actor_prefix;
  /// Only lines that contain this text, or of tasks whose name does (the
  /// dashboard's search); every line when empty.
  std::string contains;
  /// Only lines with a larger `seq`.
  uint64_t after = 0;
  /// Only the last `tail` matches (at most `limit`).
  size_t tail = std::numeric_limits<size_t>::max();
  /// At most this many lines, the oldest first (a follower asks again from
  /// the last one it got).
  size_t limit = 10000;
};

/// The lines tasks and actor calls printed (`task_logs`, `manta logs`),
/// bounded: the latest `max_tasks` tasks that printed, at most
/// `max_lines_per_task` lines each. Thread-safe. The runtime's is
/// `runtime::task_logs()`; a line printed after shutdown is not kept.
class log_store {
public:
  static constexpr size_t max_tasks = 10000;
  static constexpr size_t max_lines_per_task = 1000;

  /// Keeps `line` of task `id` named `name`, a call of actor `actor` (0: none).
  void add(object_id id, const std::string& name, uint64_t actor, std::string line);

  /// The kept lines of one task, oldest first.
  std::vector<std::string> lines_of(object_id id);

  /// Whether lines of `id` are kept.
  bool has(object_id id);

  /// The matching lines ordered by `seq`; `last` becomes the `seq` to ask
  /// after next time (the newest line kept, or the last one returned when
  /// `limit` cut the answer short).
  std::vector<log_entry> query(const log_query& q, uint64_t& last);

  /// Forgets every kept line (`seq` keeps counting).
  void clear();

private:
  struct task_lines {
    std::string name;
    uint64_t actor = 0;
    std::vector<std::pair<uint64_t, std::string>> lines; ///< (seq, line)
  };

  std::mutex mtx_;
  std::map<object_id, task_lines> by_task_;
  std::deque<object_id> order_; ///< Oldest task first, for eviction.
  uint64_t seq_ = 0;
};

} // namespace manta::detail
