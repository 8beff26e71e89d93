#pragma once

#include "manta/net/wire.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace manta::detail {

/// Lines printed on this node by tasks that other nodes sent, on their way
/// to the tasks' owners (as Ray streams a worker's output to its driver).
/// Task threads add lines (log_capture does, for a remote_task that has a
/// shipper); the node manager takes them in batches and sends each owner a
/// LogBatch of its own tasks' lines. `wake` tells the node manager when to
/// take: once per batch `flush_interval` after its first line, and at once
/// when the batch is full. Memory is bounded: lines beyond
/// `max_pending_bytes` are dropped and counted.
class log_shipper {
public:
  /// How long a line may wait for more before its batch is sent.
  static constexpr auto flush_interval = std::chrono::milliseconds{100};

  /// A batch of this many lines or bytes is sent without waiting.
  static constexpr size_t batch_lines = 1000;
  static constexpr size_t batch_bytes = 256 * 1024;

  /// Lines that find this many bytes waiting are dropped (and counted).
  static constexpr size_t max_pending_bytes = 8 * 1024 * 1024;

  /// Called on the adding thread, outside the shipper's lock: with false
  /// when a batch starts (take it after `flush_interval`), with true when
  /// it is full (take it now).
  using wake_fn = std::function<void(bool full)>;

  explicit log_shipper(wake_fn wake);

  log_shipper(const log_shipper&) = delete;
  log_shipper& operator=(const log_shipper&) = delete;

  /// One line (without its newline) of the task with result id `task_id`.
  void add(uint64_t task_id, bool to_stderr, std::string text);

  /// What waited since the last `take`.
  struct batch {
    std::vector<wire::log_line> lines; ///< oldest first
    std::map<uint64_t, uint64_t> dropped; ///< lines dropped, by task id
  };

  /// Everything waiting; the next line starts a new batch.
  batch take();

private:
  wake_fn wake_;
  std::mutex mtx_;
  batch pending_;
  size_t pending_bytes_ = 0;
  bool scheduled_ = false; ///< woken for this batch (timer)
  bool urgent_ = false;    ///< woken for this batch (full)
};

} // namespace manta::detail
