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
#include <chrono>
#include <memory>
#include <utility>
#include <map>
#include <mutex>

namespace manta::detail::task_events {

namespace {

/// The recorder the calling thread records into, and what it keeps of it:
/// its submit list, its executor number and the latency cell it used last
/// (a thread usually records one function after another, and the map
/// lookup was a visible share of a task's cost). Plain words, so that a
/// hook run while the thread exits reads a valid object; the reference that
/// keeps `rec` alive is `cache_hold`'s.
struct thread_cache {
  /// `rec->generation`; 0 when the thread holds no recorder.
  uint32_t generation = 0;
  recorder* rec = nullptr;
  submit_list* list = nullptr;
  uint32_t thread_id = 0;
  std::pair<const void*, const void*> cell_key;
  histogram_cell* cell = nullptr;
};

thread_local thread_cache cache;

/// Set when the thread's `cache_hold` is gone (the thread exits): its
/// hooks from then on record nothing.
thread_local bool cache_gone = false;

/// Holds the thread's recorder. Its destructor runs at the thread's exit
/// and lets go of it.
struct cache_holder {
  std::shared_ptr<recorder> held;
  ~cache_holder() {
    cache = {};
    cache_gone = true;
  }
};

thread_local cache_holder cache_hold;

/// The process's recorders by generation, and the running runtime's (a
/// weak pointer: the runtime and the threads' caches own it). A pointer to
/// a part, as `runtime::live()` is, plus the counter that names them; never
/// destroyed, as tasks may end during static destruction.
struct registry {
  std::mutex mtx;
  std::weak_ptr<recorder> running;
  uint32_t last_generation = 0;
};

registry& recorders() {
  static auto* r = new registry;
  return *r;
}

/// The thread's cache moved to the recorder of generation `gen` if that is
/// the running runtime's; null if it is not (the task's runtime is gone:
/// its record goes nowhere) or the thread exits.
[[gnu::noinline]] thread_cache* adopt(uint32_t gen) noexcept {
  if (gen == 0 || cache_gone)
    return nullptr;
  std::shared_ptr<recorder> r;
  {
    auto& reg = recorders();
    std::lock_guard<std::mutex> guard{reg.mtx};
    r = reg.running.lock();
  }
  if (!r || r->generation != gen)
    return nullptr;
  cache = {};
  cache.generation = gen;
  cache.rec = r.get();
  // The previous recorder goes here if this thread held it last (after the
  // cache stopped naming it).
  cache_hold.held = std::move(r);
  return &cache;
}

/// The thread's cache for the recorder of generation `gen`, or null (see
/// `adopt`). One compare when the thread recorded into it before.
inline thread_cache* cache_for(uint32_t gen) noexcept {
  if (cache.generation == gen) [[likely]]
    return &cache;
  return adopt(gen);
}

/// The thread's number in its cache's recorder (assigned on first use).
uint32_t thread_id(thread_cache& c) noexcept {
  if (c.thread_id == 0) {
    auto& r = *c.rec;
    std::lock_guard<std::mutex> guard{r.threads_mtx};
    c.thread_id = static_cast<uint32_t>(r.thread_names.size());
    r.thread_names.push_back("executor-" + std::to_string(c.thread_id));
  }
  return c.thread_id;
}

/// Counts a finished record `r` (under the history's lock) with the
/// calling thread's cache `c` of the history's recorder.
void count(thread_cache& c, history& h, const finished_record& r) {
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
    std::pair<const void*, const void*> key{r.name, r.method};
    if (c.cell == nullptr || c.cell_key != key) {
      c.cell_key = key;
      c.cell = &h.latency[key];
    }
    auto& cell = *c.cell;
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
/// The record goes into the recorder of the thread's cache `c`.
template <class Fill>
void push(thread_cache& c, Fill&& fill) {
  auto& h = c.rec->hist;
  std::lock_guard<spin_lock> guard{h.mtx};
  if (h.capacity == 0) {
    finished_record r;
    fill(r);
    count(c, h, r);
    return;
  }
  auto& r = h.ring.size() < h.capacity ? h.ring.emplace_back() : h.ring[h.next];
  fill(r);
  count(c, h, r);
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

/// The calling thread's list in its cache's recorder (registered on first
/// use; kept by the recorder after the thread exits, so its tasks stay
/// visible).
submit_list& my_list(thread_cache& c) {
  if (c.list == nullptr) [[unlikely]] {
    auto l = std::make_shared<submit_list>();
    auto& r = *c.rec;
    std::lock_guard<std::mutex> guard{r.lists_mtx};
    r.lists.push_back(l);
    c.list = l.get();
  }
  return *c.list;
}

void finish(task_spec& t, task_state s, const std::exception_ptr& error) noexcept {
  auto& tr = t.trace;
  if (!tr.tracked || tr.ended.exchange(true, std::memory_order_acq_rel))
    return;
  auto* c = cache_for(tr.recorder);
  if (c == nullptr)
    return; // its runtime is gone
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
  push(*c, [&](finished_record& r) {
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
  // The two clocks' distance, taken once: constant, as both clocks run at
  // the same rate (the TSC's is calibrated against the steady clock).
  static const int64_t wall_offset_ns = [] {
    using namespace std::chrono;
    return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count() - now_ns();
  }();
  return (steady_ns + wall_offset_ns) / 1000;
}

std::shared_ptr<recorder> make_recorder(bool enabled, size_t history) {
  auto& reg = recorders();
  std::lock_guard<std::mutex> guard{reg.mtx};
  auto r = std::make_shared<recorder>(++reg.last_generation, enabled, history);
  reg.running = r;
  return r;
}

std::shared_ptr<recorder> running_recorder() {
  auto& reg = recorders();
  std::lock_guard<std::mutex> guard{reg.mtx};
  return reg.running.lock();
}

void retire(const recorder& r) noexcept {
  auto& reg = recorders();
  std::lock_guard<std::mutex> guard{reg.mtx};
  if (auto running = reg.running.lock(); running.get() == &r)
    reg.running.reset();
}

uint32_t current_thread_id() noexcept {
  auto* rt = runtime::live();
  auto* c = rt != nullptr ? cache_for(rt->events().generation) : nullptr;
  return c != nullptr ? thread_id(*c) : 0;
}

std::string thread_name(uint32_t id) {
  auto r = running_recorder();
  if (!r)
    return {};
  std::lock_guard<std::mutex> guard{r->threads_mtx};
  return id < r->thread_names.size() ? r->thread_names[id] : std::string{};
}

void on_submit(const std::shared_ptr<task_spec>& t) noexcept {
  auto* rt = runtime::live();
  if (rt == nullptr)
    return;
  auto& rec = rt->events();
  if (!rec.enabled)
    return;
  auto* c = cache_for(rec.generation);
  if (c == nullptr)
    return;
  auto& tr = t->trace;
  tr.tracked = true;
  tr.recorder = rec.generation;
  tr.submitted_ns.store(now_ns(), std::memory_order_relaxed);
  tr.state.store(static_cast<uint8_t>(task_state::pending_args), std::memory_order_relaxed);
  tr.parent = current_parent();
  auto& l = my_list(*c);
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
    // Only destroyed tasks go here, one load each: `gone` also drops a
    // task that ended but lives on, and to see that it locks the weak
    // pointer, two atomic read-modify-writes on the task's control block,
    // which a pool thread running that task writes at the same time (a
    // list of 10,000 spawned tasks swept ~1.6 entries a task so). An ended
    // task still alive stays until it is destroyed; the listings sweep
    // with `gone` and skip ended tasks themselves.
    std::erase_if(l.tasks, [](const std::weak_ptr<task_spec>& w) { return w.expired(); });
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
  auto* c = cache_for(tr.recorder);
  tr.thread.store(c != nullptr ? thread_id(*c) : 0, std::memory_order_relaxed);
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
  auto* rt = runtime::live();
  if (rt == nullptr || !rt->events().enabled)
    return;
  c.trace.tracked = true;
  c.trace.recorder = rt->events().generation;
  c.trace.submitted_ns = now_ns();
  c.trace.parent = current_parent();
}

void on_call_start(actor_call& c) noexcept {
  if (!c.trace.tracked)
    return;
  auto* tc = cache_for(c.trace.recorder);
  c.trace.thread.store(tc != nullptr ? thread_id(*tc) : 0, std::memory_order_relaxed);
  c.trace.started_ns.store(std::max(now_ns(), c.trace.submitted_ns), std::memory_order_relaxed);
}

void on_call_end(const actor_call& c, const std::string& class_name, const std::string& actor_name,
                 const std::exception_ptr& error, uint32_t remote_node) noexcept {
  if (!c.trace.tracked)
    return;
  auto* tc = cache_for(c.trace.recorder);
  if (tc == nullptr)
    return; // its runtime is gone
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
  push(*tc, [&](finished_record& r) {
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
