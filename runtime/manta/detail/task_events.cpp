#include "manta/detail/task_events.hpp"
#include "manta/detail/task_history.hpp"

#include "manta/detail/actor_call.hpp"
#include "manta/detail/actor_core.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/spin_lock.hpp"
#include "manta/detail/task_error.hpp"
#include "manta/detail/task_spec.hpp"
#include "manta/detail/worker_pool.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <map>
#include <mutex>

namespace manta::detail::task_events {

namespace {

/// The tasks one thread submitted that may still be live. Only that thread
/// appends; listings read (and sweep) it under the lock.
struct submit_list {
  spin_lock mtx;
  std::vector<std::weak_ptr<task_spec>> tasks;
  /// Size at which the owner sweeps out ended tasks next.
  size_t sweep_at = 64;
};

bool gone(const std::weak_ptr<task_spec>& w) {
  auto t = w.lock();
  return !t || t->trace.ended.load(std::memory_order_relaxed);
}

/// Latency buckets (seconds), Prometheus' defaults extended downwards:
/// tasks here take microseconds. A constant array, not a static vector:
/// tasks may end during static destruction (see `rec`), after a vector's
/// destructor freed it (ThreadSanitizer saw that race in `object_test`).
constexpr std::array<double, 8> bucket_bounds{1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 60};

struct histogram_cell {
  std::vector<uint64_t> counts = std::vector<uint64_t>(bucket_bounds.size() + 1, 0);
  uint64_t count = 0;
  double sum = 0;
};

/// Finished records in a ring, the totals and the latency histograms.
struct history {
  spin_lock mtx;
  std::vector<finished_record> ring;
  size_t capacity = 10000;
  size_t next = 0; // where the next record goes
  size_t size = 0;
  totals sums;
  /// Keyed by the stable name pointers (class and method for actor calls).
  std::map<std::pair<const void*, const void*>, histogram_cell> latency;
  /// Bumped when `latency` is cleared (invalidates the threads' caches).
  uint64_t generation = 1;
};

/// The cell a thread used last: a thread usually records one function
/// after another, and the map lookup was a visible share of a task's cost.
struct cell_cache {
  std::pair<const void*, const void*> key;
  histogram_cell* cell = nullptr;
  uint64_t generation = 0;
};

struct recorder {
  std::mutex lists_mtx;
  std::vector<std::shared_ptr<submit_list>> lists;
  history hist;
  std::mutex threads_mtx;
  std::vector<std::string> thread_names{""}; // index 0: none
  int64_t wall_offset_ns = 0;

  recorder() {
    using namespace std::chrono;
    wall_offset_ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count()
                     - now_ns();
  }
};

recorder& rec() {
  // Never destroyed: tasks may end during static destruction.
  static auto* r = new recorder;
  return *r;
}

void push(finished_record&& r) {
  auto& h = rec().hist;
  double seconds = r.started_ns > 0 && r.ended_ns >= r.started_ns
                     ? static_cast<double>(r.ended_ns - r.started_ns) * 1e-9
                     : -1;
  std::lock_guard<spin_lock> guard{h.mtx};
  switch (r.state) {
    case task_state::failed: ++h.sums.failed; break;
    case task_state::cancelled: ++h.sums.cancelled; break;
    default: ++h.sums.finished; break;
  }
  if (r.remote_node == 0) {
    h.sums.finished_here += r.state == task_state::finished ? 1 : 0;
    h.sums.failed_here += r.state == task_state::failed ? 1 : 0;
    h.sums.actor_calls_here += r.actor_call ? 1 : 0;
  }
  if (seconds >= 0) {
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
  if (h.capacity == 0)
    return;
  if (h.ring.size() < h.capacity) {
    h.ring.push_back(std::move(r));
  } else {
    h.ring[h.next] = std::move(r);
  }
  h.next = (h.next + 1) % h.capacity;
  h.size = h.ring.size();
}

/// A cancellation is the one error the runtime raises to stop a task.
bool is_cancel(const std::exception_ptr& e) {
  return is_runtime_error(e);
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

/// The task's object arguments with their sizes so far; in `failed`, the
/// first that failed (what a task that did not run failed of).
void read_args(const task_spec& t, std::vector<task_info::argument>& out, object_id* failed) {
  out.reserve(t.deps.size());
  for (auto& d : t.deps) {
    bool ok = d && d->done() && !d->failed();
    if (d)
      out.push_back({d->id(), ok ? uint64_t{d->size_bytes()} : 0});
    if (failed != nullptr && d && d->done() && !ok && !failed->valid())
      *failed = d->id();
  }
}

void finish(task_spec& t, task_state s, const std::exception_ptr& error) noexcept {
  auto& tr = t.trace;
  if (!tr.tracked || tr.ended.exchange(true, std::memory_order_acq_rel))
    return;
  finished_record r;
  r.id = t.result ? t.result->id() : object_id{};
  r.parent = tr.parent;
  r.name = &t.function_name;
  if (!t.opts.name.empty())
    r.label = t.opts.name;
  r.state = s;
  r.thread = tr.thread.load(std::memory_order_relaxed);
  r.attempts = t.attempts.load(std::memory_order_relaxed);
  r.remote_node = tr.remote_node.load(std::memory_order_relaxed);
  r.submitted_ns = tr.submitted_ns.load(std::memory_order_relaxed);
  r.started_ns = tr.started_ns.load(std::memory_order_relaxed);
  auto ended = tr.ended_ns.load(std::memory_order_relaxed);
  r.ended_ns = ended != 0 && s == task_state::finished ? ended : now_ns();
  if (error)
    r.error = describe(error);
  if (!t.deps.empty()) // tasks without object arguments (the hot case) allocate nothing
    read_args(t, r.args, s == task_state::failed && r.started_ns == 0 ? &r.caused_by : nullptr);
  tr.state.store(static_cast<uint8_t>(s), std::memory_order_relaxed);
  push(std::move(r));
}

task_info to_info(const finished_record& r) {
  task_info out;
  out.id = r.id;
  out.parent = r.parent;
  out.kind = r.actor_call ? "actor_call" : "task";
  if (r.actor_call) {
    out.name = r.call_name.empty() ? *r.name + "." + *r.method : r.call_name;
    out.actor = r.label;
  } else {
    out.name = r.label.empty() ? *r.name : r.label;
  }
  out.state = r.state;
  out.submitted_us = r.submitted_ns ? to_wall_us(r.submitted_ns) : 0;
  out.started_us = r.started_ns ? to_wall_us(r.started_ns) : 0;
  out.ended_us = r.ended_ns ? to_wall_us(r.ended_ns) : 0;
  out.thread_id = r.thread;
  out.thread = thread_name(r.thread);
  out.node = r.remote_node ? "node-" + std::to_string(r.remote_node - 1) : runtime::node_name();
  out.attempts = r.attempts;
  out.suspended = r.suspended;
  out.error = r.error;
  out.args = r.args;
  out.caused_by = r.caused_by;
  return out;
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
  t.trace.started_ns.store(now_ns(), std::memory_order_relaxed);
  t.trace.state.store(static_cast<uint8_t>(task_state::running), std::memory_order_relaxed);
}

void on_start(task_spec& t) noexcept {
  auto& tr = t.trace;
  if (!tr.tracked)
    return;
  tr.thread.store(current_thread_id(), std::memory_order_relaxed);
  tr.started_ns.store(now_ns(), std::memory_order_relaxed);
  tr.state.store(static_cast<uint8_t>(task_state::running), std::memory_order_relaxed);
}

void on_remote_start(task_spec& t) noexcept {
  if (!t.trace.tracked)
    return;
  t.trace.started_ns.store(now_ns(), std::memory_order_relaxed);
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
    finish(t, is_cancel(slot->error()) ? task_state::cancelled : task_state::failed,
           slot->error());
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
  c.trace.started_ns.store(now_ns(), std::memory_order_relaxed);
}

void on_call_end(const actor_call& c, const std::string& class_name,
                 const std::string& actor_name, const std::exception_ptr& error,
                 uint32_t remote_node) noexcept {
  if (!c.trace.tracked)
    return;
  finished_record r;
  r.id = c.result ? c.result->id() : object_id{};
  r.parent = c.trace.parent;
  r.name = &class_name;
  r.method = &c.method_name;
  r.label = actor_name;
  r.call_name = c.call_name;
  r.actor_call = true;
  r.remote_node = remote_node;
  r.suspended = c.trace.suspended.load(std::memory_order_relaxed);
  r.state = !error ? task_state::finished
                   : (is_cancel(error) ? task_state::cancelled : task_state::failed);
  r.thread = c.trace.thread.load(std::memory_order_relaxed);
  r.attempts = c.retries + 1;
  r.submitted_ns = c.trace.submitted_ns;
  r.started_ns = c.trace.started_ns.load(std::memory_order_relaxed);
  r.ended_ns = now_ns();
  if (error)
    r.error = describe(error);
  push(std::move(r));
}

std::vector<task_info> live_tasks() {
  std::vector<std::shared_ptr<submit_list>> lists;
  {
    auto& r = rec();
    std::lock_guard<std::mutex> guard{r.lists_mtx};
    lists = r.lists;
  }
  // Holding the tasks keeps them alive while they are read; they are
  // released (perhaps destroyed) after every lock is given back.
  std::vector<std::shared_ptr<task_spec>> live;
  for (auto& l : lists) {
    std::lock_guard<spin_lock> guard{l->mtx};
    std::erase_if(l->tasks, gone);
    for (auto& w : l->tasks)
      if (auto t = w.lock())
        live.push_back(std::move(t));
  }
  std::vector<task_info> out;
  for (auto& t : live) {
    auto& tr = t->trace;
    task_info info;
    info.id = t->result ? t->result->id() : object_id{};
    info.parent = tr.parent;
    info.kind = "task";
    info.name = t->name();
    info.state = static_cast<task_state>(tr.state.load(std::memory_order_relaxed));
    // Sealed but not recorded (yet): a value from another node, or an end
    // whose record follows its seal (end_task): the slot says how it ended.
    if (t->result && t->result->done()) {
      auto failed = t->result->failed();
      info.state = !failed ? task_state::finished
                   : is_cancel(t->result->error()) ? task_state::cancelled
                                                   : task_state::failed;
      if (failed && info.error.empty())
        info.error = describe(t->result->error());
    }
    auto sub = tr.submitted_ns.load(std::memory_order_relaxed);
    auto start = tr.started_ns.load(std::memory_order_relaxed);
    info.submitted_us = sub ? to_wall_us(sub) : 0;
    info.started_us = start ? to_wall_us(start) : 0;
    if (auto end = tr.ended_ns.load(std::memory_order_relaxed))
      info.ended_us = to_wall_us(end);
    info.thread_id = tr.thread.load(std::memory_order_relaxed);
    auto remote = tr.remote_node.load(std::memory_order_relaxed);
    info.node = remote ? "node-" + std::to_string(remote - 1) : runtime::node_name();
    info.attempts = t->attempts.load(std::memory_order_relaxed);
    read_args(*t, info.args, nullptr);
    out.push_back(std::move(info));
  }
  live.clear();
  for (auto& info : out)
    info.thread = thread_name(info.thread_id);
  return out;
}

std::vector<task_info> newest_finished(size_t n, const std::vector<task_state>& states) {
  std::vector<finished_record> copy;
  {
    auto& h = rec().hist;
    std::lock_guard<spin_lock> guard{h.mtx};
    // Records are pushed in recording order, but an end time is taken
    // before the seal, so two threads may push out of end order: the n
    // newest by end are picked from every record's end time (integers
    // only), and only those records are copied.
    // Ties keep recording order: (end, position since the oldest record).
    std::vector<std::pair<int64_t, size_t>> ends;
    auto size = h.ring.size();
    size_t start = size < h.capacity ? 0 : h.next;
    ends.reserve(size);
    for (size_t i = 0; i < size; ++i) {
      auto& r = h.ring[(start + i) % size];
      if (states.empty() || std::find(states.begin(), states.end(), r.state) != states.end())
        ends.emplace_back(static_cast<int64_t>(r.ended_ns), i);
    }
    auto keep = std::min(n, ends.size());
    auto newest_first = [](auto& x, auto& y) { return x > y; };
    std::partial_sort(ends.begin(), ends.begin() + static_cast<std::ptrdiff_t>(keep), ends.end(),
                      newest_first);
    copy.reserve(keep);
    for (size_t i = keep; i-- > 0;)
      copy.push_back(h.ring[(start + ends[i].second) % size]);
  }
  std::vector<task_info> out;
  out.reserve(copy.size());
  for (auto& r : copy)
    out.push_back(to_info(r));
  return out;
}

std::vector<task_info> finished_tasks() {
  return newest_finished(static_cast<size_t>(-1), {});
}

totals finished_totals() {
  auto& h = rec().hist;
  std::lock_guard<spin_lock> guard{h.mtx};
  return h.sums;
}

std::vector<latency_histogram> latencies() {
  std::vector<latency_histogram> out;
  auto& h = rec().hist;
  std::lock_guard<spin_lock> guard{h.mtx};
  for (auto& [key, cell] : h.latency) {
    latency_histogram l;
    auto* name = static_cast<const std::string*>(key.first);
    auto* method = static_cast<const std::string*>(key.second);
    l.name = method != nullptr ? *name + "." + *method : *name;
    l.bounds.assign(bucket_bounds.begin(), bucket_bounds.end());
    uint64_t acc = 0;
    for (size_t b = 0; b < l.bounds.size(); ++b) {
      acc += cell.counts[b];
      l.cumulative.push_back(acc);
    }
    l.count = cell.count;
    l.sum = cell.sum;
    out.push_back(std::move(l));
  }
  return out;
}

} // namespace manta::detail::task_events
