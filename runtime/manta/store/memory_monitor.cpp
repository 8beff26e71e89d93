#include "manta/store/memory_monitor.hpp"

#include "manta/store/allocation_hook.hpp"
#include "manta/store/block_cache.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/tsc_clock.hpp"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace manta::detail {

namespace {

/// An executor thread as the monitor sees it.
struct run_slot {
  /// The run it executes now (0: none); ids grow with each start, so the
  /// largest is the most recently started run.
  std::atomic<uint64_t> run{0};
  std::atomic<bool> retriable{false};
  /// The thread's stop word (allocation_hook), valid while registered.
  std::atomic<uint64_t>* stop = nullptr;
  /// The id of the thread's last run (only the thread reads and writes it).
  uint64_t last_run = 0;
};

/// Every thread that ever ran a task and still lives. Never destroyed:
/// threads left behind at shutdown may end after static destructors.
struct slot_registry {
  std::mutex mtx;
  std::vector<run_slot*> slots;
};

slot_registry& registry() {
  static auto* r = new slot_registry;
  return *r;
}

/// Unregisters the thread's slot when the thread ends.
struct slot_owner {
  run_slot* slot = nullptr;
  ~slot_owner() {
    if (slot == nullptr)
      return;
    auto& r = registry();
    std::lock_guard<std::mutex> guard{r.mtx};
    std::erase(r.slots, slot);
    delete slot;
  }
};

thread_local slot_owner this_slot;

/// A new run id for the calling thread's `slot`: ids grow with time (the
/// recorder's clock, tsc_clock.hpp), so the largest is the most recently
/// started run, and two runs of one thread never share one (the stop word
/// a thread compares against names its own run only). `started_ns`: the
/// run's start as the task recorder took it (0: none): a read of the clock
/// is ~20 ns here, a twentieth of a task run one at a time. A shared
/// counter cost every task a cache line moving between the executor
/// threads.
uint64_t new_run_id(run_slot& slot, int64_t started_ns) noexcept {
  auto now = static_cast<uint64_t>(started_ns > 0 ? started_ns : tsc_clock::now_ns());
  // Never 0 (0 means "no run"), and past this thread's last one even if
  // two reads fall on one nanosecond.
  auto id = std::max(now | 1, slot.last_run + 2);
  slot.last_run = id;
  return id;
}
std::atomic<uint64_t> stop_count{0};

/// What the last stop saw, for the messages of the tasks it stopped.
struct stop_info {
  std::mutex mtx;
  uint64_t used = 0;
  uint64_t limit = 0;
  double threshold = 0;
  std::string source;
};

stop_info& last_stop() {
  static auto* info = new stop_info;
  return *info;
}

std::string percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.1f%%", share * 100.0);
  return buf;
}

} // namespace

memory_monitor::memory_monitor(settings s) : settings_(s), gauge_(s.limit) {
  thread_ = std::thread{[this] { loop(); }};
}

memory_monitor::~memory_monitor() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void memory_monitor::loop() {
  std::unique_lock<std::mutex> guard{mtx_};
  while (!cv_.wait_for(guard, settings_.interval, [this] { return stopping_; })) {
    guard.unlock();
    check();
    guard.lock();
  }
}

void memory_monitor::check() {
  // Large blocks freed a while ago and not reused go back to the kernel.
  block_cache::release_idle(block_cache::idle_age);
  auto used = gauge_.used();
  auto limit = gauge_.limit();
  if (used == 0 || limit == 0
      || static_cast<double>(used) < settings_.threshold * static_cast<double>(limit))
    return;
  // Buffers the store kept for reuse go first: freeing them stops no task
  // (the next reading shows whether that was enough).
  if (auto* rt = runtime::live(); rt != nullptr && rt->store().pool().trim(0) > 0)
    return;
  auto now = std::chrono::steady_clock::now();
  auto& r = registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  run_slot* victim = nullptr;
  uint64_t victim_run = 0;
  bool victim_retriable = false;
  for (auto* s : r.slots) {
    auto run = s->run.load(std::memory_order_acquire);
    if (run == 0)
      continue;
    if (run == victim_) {
      if (now - victim_since_ < victim_grace)
        return; // the last one stopped is still unwinding: wait for it
      continue; // it allocates nothing (it blocks): stopped when it does
    }
    bool retriable = s->retriable.load(std::memory_order_relaxed);
    // Retriable first, then the most recently started.
    if (victim == nullptr || (retriable && !victim_retriable)
        || (retriable == victim_retriable && run > victim_run)) {
      victim = s;
      victim_run = run;
      victim_retriable = retriable;
    }
  }
  if (victim == nullptr)
    return; // nothing to stop (the memory is not held by a running task)
  {
    auto& info = last_stop();
    std::lock_guard<std::mutex> info_guard{info.mtx};
    info.used = used;
    info.limit = limit;
    info.threshold = settings_.threshold;
    info.source = gauge_.source();
  }
  victim->stop->store(victim_run, std::memory_order_relaxed);
  victim_ = victim_run;
  victim_since_ = now;
}

void memory_monitor::begin_run(bool retriable, int64_t started_ns) noexcept {
  auto* slot = this_slot.slot;
  if (slot == nullptr) {
    try {
      auto fresh = std::make_unique<run_slot>();
      fresh->stop = &allocation_hook::stop_word();
      auto& r = registry();
      std::lock_guard<std::mutex> guard{r.mtx};
      r.slots.push_back(fresh.get());
      slot = this_slot.slot = fresh.release();
    } catch (...) {
      return; // not watched; the task runs all the same
    }
  }
  auto run = new_run_id(*slot, started_ns);
  slot->retriable.store(retriable, std::memory_order_relaxed);
  allocation_hook::set_current_run(run);
  slot->run.store(run, std::memory_order_release);
}

bool memory_monitor::end_run() noexcept {
  auto* slot = this_slot.slot;
  if (slot == nullptr)
    return false;
  bool stopped = allocation_hook::stop_requested();
  allocation_hook::set_current_run(0);
  slot->run.store(0, std::memory_order_release);
  if (stopped) {
    stop_count.fetch_add(1, std::memory_order_relaxed);
    // What the task freed goes back to the system, so that the next
    // reading sees the node below the threshold (glibc keeps freed heap
    // memory otherwise, and the monitor would stop the next task).
    ::malloc_trim(0);
  }
  return stopped;
}

std::string memory_monitor::stop_message(const std::string& task, const std::string& node,
                                         int runs) {
  auto& info = last_stop();
  std::lock_guard<std::mutex> guard{info.mtx};
  auto share = info.limit == 0 ? 0.0
                               : static_cast<double>(info.used) / static_cast<double>(info.limit);
  return "task '" + task + "' was stopped by the memory monitor of " + node + ": the node used "
         + format_bytes(info.used) + ", " + percent(share) + " of its limit of "
         + format_bytes(info.limit) + " (" + info.source + "), over the threshold of "
         + percent(info.threshold) + " (--memory-usage-threshold), and this task was the most "
         + "recently started one there that could be retried (or, if none could, the most "
         + "recent); it ran " + std::to_string(runs)
         + " time(s). Raise the limit (--memory-limit, or the container's memory), make the "
           "task hold less memory, or run fewer tasks at once on the node (give each task "
           "more num_cpus, or the node fewer CPUs)";
}

uint64_t memory_monitor::stops() noexcept {
  return stop_count.load(std::memory_order_relaxed);
}

} // namespace manta::detail
