#include "manta/observe/task_events.hpp"
#include "manta/observe/task_recorder.hpp"

#include "manta/actor/actor_call.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/core/runtime.hpp"
#include "manta/core/spin_lock.hpp"
#include "manta/sched/task_error.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <map>
#include <mutex>

namespace manta::detail::task_events {

namespace {

/// The cell a thread used last: a thread usually records one function
/// after another, and the map lookup was a visible share of a task's cost.
struct cell_cache {
  std::pair<const void*, const void*> key;
  histogram_cell* cell = nullptr;
  uint64_t generation = 0;
};

/// Counts a finished record `r` (under the history's lock).
void count(history& h, const finished_record& r) {
  switch (r.state) {
    case task_state::failed:
      ++h.sums.failed;
      break;
    case task_state::cancelled:
      ++h.sums.cancelled;
      break;
    default:
      ++h.sums.finished;
      break;
  }
  if (r.remote_node == 0) {
    h.sums.finished_here += r.state == task_state::finished ? 1 : 0;
    h.sums.failed_here += r.state == task_state::failed ? 1 : 0;
    h.sums.actor_calls_here += r.actor_call ? 1 : 0;
  }
  if (r.started_ns > 0 && r.ended_ns >= r.started_ns) {
    double seconds = static_cast<double>(r.ended_ns - r.started_ns) * 1e-9;
    thread_local cell_cache cache;
    std::pair<const void*, const void*> key{r.name, r.method};
    if (cache.generation != h.generation || cache.key != key)
      cache = {key, &h.latency[key], h.generation};
    auto& cell = *cache.cell;
    auto& bounds = bucket_bounds;
    size_t b = 0;
    while (b < bounds.size() && seconds > bounds[b])
      ++b;
    ++cell.counts[b];
    ++cell.count;
    cell.sum += seconds;
  }
}

/// Records a finished task or actor call: `fill(r)` sets every field of
/// `r`, the ring's next slot (an old record's, overwritten), under the
/// history's lock. Filled in place: a record built first and moved into
/// the ring cost its construction, the field-by-field move and its
/// destruction, a third of the ~190 instructions this took a task. What
/// `fill` allocates (an error's text, the arguments) it makes before.
template <class Fill>
void push(Fill&& fill) {
  auto& h = rec().hist;
  std::lock_guard<spin_lock> guard{h.mtx};
  if (h.capacity == 0) {
    finished_record r;
    fill(r);
    count(h, r);
    return;
  }
  auto& r = h.ring.size() < h.capacity ? h.ring.emplace_back() : h.ring[h.next];
  fill(r);
  count(h, r);
  if (++h.next == h.capacity)
    h.next = 0;
  h.size = h.ring.size();
  if (h.size == h.capacity) {
    // The next record's slot, written by the next push: the ring (10,000
    // records of ~200 bytes) is beyond the core's cache, and reading the
    // old record's strings to free them missed on three lines a task
    // (60% of push's samples, one task at a time).
    const auto* slot = reinterpret_cast<const char*>(&h.ring[h.next]);
    for (size_t off = 0; off < sizeof(finished_record); off += 64)
      __builtin_prefetch(slot + off, 1);
  }
}

/// The clock now, but not before `earlier`: an unfenced TSC read may be
/// ~0.1 us early against a load before it (tsc_clock.hpp), e.g. of the
/// queue a task was taken from on another thread than its submitter's.
int64_t now_after(const std::atomic<int64_t>& earlier) noexcept {
  return std::max(now_ns(), earlier.load(std::memory_order_relaxed));
}

/// The task or actor call whose code runs on this thread: the parent of
/// what it submits.
object_id current_parent() noexcept {
  if (auto* call = current_call(); call != nullptr && call->result)
    return call->result->id();
  if (auto* t = this_task().task; t != nullptr && t->result)
    return t->result->id();
  return {};
}

/// The calling thread's list (registered on first use; kept after the
/// thread exits, so its tasks stay visible).
submit_list& my_list() {
  thread_local submit_list* mine = [] {
    auto l = std::make_shared<submit_list>();
    auto& r = rec();
    std::lock_guard<std::mutex> guard{r.lists_mtx};
    r.lists.push_back(l);
    return l.get();
  }();
  return *mine;
}

void finish(task_spec& t, task_state s, const std::exception_ptr& error) noexcept {
  auto& tr = t.trace;
  if (!tr.tracked || tr.ended.exchange(true, std::memory_order_acq_rel))
    return;
  // What allocates is made before the history's lock (push): the rare
  // fields (an error, object arguments) and a `.name(...)` label.
  std::unique_ptr<finished_extra> extra;
  auto more = [&]() -> finished_extra& {
    if (!extra)
      extra = std::make_unique<finished_extra>();
    return *extra;
  };
  auto started = tr.started_ns.load(std::memory_order_relaxed);
  if (error)
    more().error = describe(error);
  if (!t.deps.empty()) { // tasks without object arguments (the hot case) allocate nothing
    auto& x = more();
    read_args(t, x.args, s == task_state::failed && started == 0 ? &x.caused_by : nullptr);
  }
  std::string label;
  if (!t.opts.name.empty())
    label = t.opts.name;
  auto ended = tr.ended_ns.load(std::memory_order_relaxed);
  ended = std::max(ended != 0 && s == task_state::finished ? ended : now_ns(), started);
  tr.state.store(static_cast<uint8_t>(s), std::memory_order_relaxed);
  push([&](finished_record& r) {
    r.id = t.result ? t.result->id() : object_id{};
    r.parent = tr.parent;
    r.name = &t.function_name;
    r.method = nullptr;
    r.label = std::move(label);
    r.state = s;
    r.actor_call = false;
    r.suspended = false;
    r.thread = tr.thread.load(std::memory_order_relaxed);
    r.attempts = t.attempts.load(std::memory_order_relaxed);
    r.remote_node = tr.remote_node.load(std::memory_order_relaxed);
    r.submitted_ns = tr.submitted_ns.load(std::memory_order_relaxed);
    r.started_ns = started;
    r.ended_ns = ended;
    r.extra = std::move(extra);
  });
}

} // namespace

int64_t to_wall_us(int64_t steady_ns) noexcept {
  return (steady_ns + rec().wall_offset_ns) / 1000;
}

void configure(bool on, size_t history_size) {
  enabled_flag().store(on, std::memory_order_relaxed);
  auto& h = rec().hist;
  std::lock_guard<spin_lock> guard{h.mtx};
  h.ring.clear();
  h.ring.shrink_to_fit();
  h.capacity = history_size;
  h.next = h.size = 0;
  h.sums = {};
  h.latency.clear();
  ++h.generation;
}

uint32_t current_thread_id() noexcept {
  thread_local uint32_t id = 0;
  if (id == 0) {
    auto& r = rec();
    std::lock_guard<std::mutex> guard{r.threads_mtx};
    id = static_cast<uint32_t>(r.thread_names.size());
    r.thread_names.push_back("executor-" + std::to_string(id));
  }
  return id;
}

std::string thread_name(uint32_t id) {
  auto& r = rec();
  std::lock_guard<std::mutex> guard{r.threads_mtx};
  return id < r.thread_names.size() ? r.thread_names[id] : std::string{};
}

void on_submit(const std::shared_ptr<task_spec>& t) noexcept {
  if (!enabled())
    return;
  auto& tr = t->trace;
  tr.tracked = true;
  tr.submitted_ns.store(now_ns(), std::memory_order_relaxed);
  tr.state.store(static_cast<uint8_t>(task_state::pending_args), std::memory_order_relaxed);
  tr.parent = current_parent();
  auto& l = my_list();
  std::lock_guard<spin_lock> guard{l.mtx};
  // A destroyed task's memory (one block with its control block, from the
  // thread's cache of tasks' blocks, sched/task_blocks.hpp, or malloc) is
  // freed only when its last weak pointer goes: dropping the ones at the
  // back now gives a task submitted, run and got one at a time back before
  // the next one is allocated, into that cache, where the sweep freed them
  // by the dozen past it (the allocator's slow paths were 8% of such a
  // loop).
  while (!l.tasks.empty() && l.tasks.back().expired())
    l.tasks.pop_back();
  l.tasks.push_back(t);
  if (l.tasks.size() >= l.sweep_at) {
    // Amortized O(1): the next sweep waits until the list has doubled.
    std::erase_if(l.tasks, gone);
    l.sweep_at = std::max<size_t>(64, 2 * l.tasks.size());
  }
}

void on_waiting_for_resources(task_spec& t) noexcept {
  if (t.trace.tracked)
    t.trace.state.store(static_cast<uint8_t>(task_state::waiting_for_resources),
                        std::memory_order_relaxed);
}

void on_dispatched(task_spec& t, uint16_t node) noexcept {
  if (!t.trace.tracked)
    return;
  t.trace.remote_node.store(uint32_t{node} + 1, std::memory_order_relaxed);
  t.trace.started_ns.store(now_after(t.trace.submitted_ns), std::memory_order_relaxed);
  t.trace.state.store(static_cast<uint8_t>(task_state::running), std::memory_order_relaxed);
}

int64_t on_start(task_spec& t) noexcept {
  auto& tr = t.trace;
  if (!tr.tracked)
    return 0;
  tr.thread.store(current_thread_id(), std::memory_order_relaxed);
  auto started = now_after(tr.submitted_ns);
  tr.started_ns.store(started, std::memory_order_relaxed);
  tr.state.store(static_cast<uint8_t>(task_state::running), std::memory_order_relaxed);
  return started;
}

void on_remote_start(task_spec& t) noexcept {
  if (!t.trace.tracked)
    return;
  t.trace.started_ns.store(now_after(t.trace.submitted_ns), std::memory_order_relaxed);
  t.trace.state.store(static_cast<uint8_t>(task_state::running), std::memory_order_relaxed);
}

void on_undispatched(task_spec& t) noexcept {
  if (!t.trace.tracked)
    return;
  t.trace.remote_node.store(0, std::memory_order_relaxed);
  t.trace.started_ns.store(0, std::memory_order_relaxed);
  on_waiting_for_resources(t);
}

void on_run_end(task_spec& t, const std::exception_ptr& error, bool retry) noexcept {
  if (!t.trace.tracked)
    return;
  if (retry) {
    on_waiting_for_resources(t);
    return;
  }
  if (!error)
    finish(t, task_state::finished, error);
  else
    finish(t, is_cancel(error) ? task_state::cancelled : task_state::failed, error);
}

void on_end(task_spec& t, task_state s, const std::exception_ptr& error) noexcept {
  if (t.trace.tracked)
    finish(t, s, error);
}

void on_destroy(task_spec& t) noexcept {
  if (!t.trace.tracked || t.trace.ended.load(std::memory_order_acquire))
    return;
  auto& slot = t.result;
  if (slot && slot->done() && !slot->failed())
    finish(t, task_state::finished, nullptr);
  else if (slot && slot->done())
    finish(t, is_cancel(slot->error()) ? task_state::cancelled : task_state::failed, slot->error());
  else
    finish(t, task_state::cancelled,
           std::make_exception_ptr(task_cancelled_error("the task was dropped before it ran")));
}

void on_call_submit(actor_call& c) noexcept {
  if (!enabled())
    return;
  c.trace.tracked = true;
  c.trace.submitted_ns = now_ns();
  c.trace.parent = current_parent();
}

void on_call_start(actor_call& c) noexcept {
  if (!c.trace.tracked)
    return;
  c.trace.thread.store(current_thread_id(), std::memory_order_relaxed);
  c.trace.started_ns.store(std::max(now_ns(), c.trace.submitted_ns), std::memory_order_relaxed);
}

void on_call_end(const actor_call& c, const std::string& class_name, const std::string& actor_name,
                 const std::exception_ptr& error, uint32_t remote_node) noexcept {
  if (!c.trace.tracked)
    return;
  std::unique_ptr<finished_extra> extra;
  if (!c.call_name.empty() || error) {
    extra = std::make_unique<finished_extra>();
    extra->call_name = c.call_name;
    if (error)
      extra->error = describe(error);
  }
  std::string label = actor_name;
  auto started = c.trace.started_ns.load(std::memory_order_relaxed);
  auto ended = std::max(now_ns(), started);
  auto state = !error ? task_state::finished
                      : (is_cancel(error) ? task_state::cancelled : task_state::failed);
  push([&](finished_record& r) {
    r.id = c.result ? c.result->id() : object_id{};
    r.parent = c.trace.parent;
    r.name = &class_name;
    r.method = &c.method_name;
    r.label = std::move(label);
    r.state = state;
    r.actor_call = true;
    r.suspended = c.trace.suspended.load(std::memory_order_relaxed);
    r.thread = c.trace.thread.load(std::memory_order_relaxed);
    r.attempts = c.retries + 1;
    r.remote_node = remote_node;
    r.submitted_ns = c.trace.submitted_ns;
    r.started_ns = started;
    r.ended_ns = ended;
    r.extra = std::move(extra);
  });
}

} // namespace manta::detail::task_events
