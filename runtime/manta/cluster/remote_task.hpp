#pragma once

#include "manta/sched/function_registry.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/net/wire.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace manta::detail {

class log_shipper;

/// The ids of tasks other nodes sent that queued here for resources and
/// have started since the node manager last looked: their owners show them
/// RUNNING again (a task waiting in a worker's queue is WAITING_FOR_RESOURCES
/// in its owner's view too). `wake` is called when the first id arrives.
class start_log {
public:
  explicit start_log(std::function<void()> wake) : wake_(std::move(wake)) {}

  void push(uint64_t id) {
    bool first;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      first = ids_.empty();
      ids_.push_back(id);
    }
    if (first)
      wake_();
  }

  std::vector<uint64_t> take() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::exchange(ids_, {});
  }

private:
  std::function<void()> wake_;
  std::mutex mtx_;
  std::vector<uint64_t> ids_;
};

/// A task another node sent here (its TaskSpec decoded): runs the function
/// found by name from the encoded arguments and seals the encoded result
/// (a `std::vector<char>`) into `result`. It runs in this node's worker
/// pool under its resource demand, like a local task.
class remote_task final : public task_spec {
public:
  remote_task(const function_info& fn, wire::task_message msg);

  std::exception_ptr run() noexcept override;

  const wire::task_message& message() const noexcept { return msg_; }

  /// Set by `execute_task` when the task failed in a way its retry policy
  /// covers: it is not run again here, its owner (which counts every
  /// attempt on every node against the one `max_retries`) decides.
  std::atomic<bool> retryable{false};

  /// Takes the lines the task prints to its owner (set by the node manager
  /// before the task is scheduled; null: they stay here).
  std::shared_ptr<log_shipper> log_sink;
  /// Told each argument this task read from other nodes and now caches
  /// here (held true), or whose read failed or whose copy memory pressure
  /// dropped later (held false); the node manager tells the owner.
  std::function<void(uint64_t id, uint64_t size, bool held)> report_copy;
  /// Set when the task had to queue: told when it starts.
  std::shared_ptr<start_log> starts;
  /// What its reads of arguments from other nodes present: the node's
  /// cluster token.
  std::string token;
  /// Sends an item a streaming generator yields to its owner (index from 0
  /// in each run); set by the node manager.
  item_stream::emitter emit_item;
  /// Called with the encoded result before it is sealed here, when nothing
  /// went through the node manager (`via_manager`): returns the send that
  /// answers the owner from this thread once the result is sealed, or an
  /// empty function if the node manager answers as usual (set by the node
  /// manager, which decides: actors/hosted_results.hpp, `early_answer`).
  std::function<std::function<void()>(const std::shared_ptr<const std::vector<char>>& result)>
    answer_early;
  /// Set when something of this task went to its owner through the node
  /// manager (a printed line, a generator item, a copy report): its result
  /// then follows the same way, after them.
  mutable std::atomic<bool> via_manager{false};

private:
  /// Reads a referenced argument from its holders (several at once),
  /// keeping it as a cached copy if memory allows. Throws
  /// object_lost_error if no holder could give it.
  std::shared_ptr<const std::vector<char>> read_argument(const wire::arg_ref& r);

  const function_info& fn_;
  wire::task_message msg_;
};

/// Options of a task as its TaskSpec gives them.
task_options options_of(const wire::task_message& msg);

} // namespace manta::detail
