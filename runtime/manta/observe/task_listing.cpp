#include "manta/observe/task_events.hpp"
#include "manta/observe/task_history.hpp"
#include "manta/observe/task_recorder.hpp"

#include "manta/core/runtime.hpp"

#include <algorithm>

namespace manta::detail::task_events {

namespace {

task_info to_info(const finished_record& r) {
  task_info out;
  out.id = r.id;
  out.parent = r.parent;
  out.kind = r.actor_call ? "actor_call" : "task";
  if (r.actor_call) {
    out.name = r.extra && !r.extra->call_name.empty() ? r.extra->call_name
                                                      : *r.name + "." + *r.method;
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
  if (r.extra) {
    out.error = r.extra->error;
    out.args = r.extra->args;
    out.caused_by = r.extra->caused_by;
  }
  return out;
}

/// The running runtime's submit lists (none without one).
std::vector<std::shared_ptr<submit_list>> submit_lists() {
  auto r = running_recorder();
  if (!r)
    return {};
  std::lock_guard<std::mutex> guard{r->lists_mtx};
  return r->lists;
}

} // namespace

/// The task's object arguments with their sizes so far; in `failed`, the
/// first that failed (what a task that did not run failed of). Those the
/// task let go of (`release_args`) as it kept them.
void read_args(const task_spec& t, std::vector<task_info::argument>& out, object_id* failed) {
  std::lock_guard<spin_lock> guard{t.args_lock};
  if (t.args_released()) {
    out = t.released_args;
    return;
  }
  out.reserve(t.deps.size());
  for (auto& d : t.deps) {
    bool ok = d && d->done() && !d->failed();
    if (d)
      out.push_back({d->id(), ok ? uint64_t{d->size_bytes()} : 0});
    if (failed != nullptr && d && d->done() && !ok && !failed->valid())
      *failed = d->id();
  }
}

std::vector<task_info> live_tasks() {
  auto lists = submit_lists();
  // Holding the tasks keeps them alive while they are read; they are
  // released (perhaps destroyed) after every lock is given back.
  std::vector<std::shared_ptr<task_spec>> live;
  // A task that ended is listed too while it lives: its record may not be
  // pushed yet (`finish` marks it ended first), and `with_live` drops it
  // where the record was read. Then the sweep.
  for (auto& l : lists) {
    std::lock_guard<spin_lock> guard{l->mtx};
    for (auto& w : l->tasks)
      if (auto t = w.lock())
        live.push_back(std::move(t));
    std::erase_if(l->tasks, gone);
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
      info.state = !failed                         ? task_state::finished
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

live_count count_live_here() {
  auto lists = submit_lists();
  live_count out;
  for (auto& l : lists) {
    std::lock_guard<spin_lock> guard{l->mtx};
    std::erase_if(l->tasks, gone);
    for (auto& w : l->tasks) {
      auto t = w.lock();
      if (!t || (t->result && t->result->done()))
        continue; // ended (recorded or not yet): not in flight
      auto& tr = t->trace;
      // A driver's task placed on a worker is the worker's to count.
      if (auto remote = tr.remote_node.load(std::memory_order_relaxed);
          remote != 0 && "node-" + std::to_string(remote - 1) != runtime::node_name())
        continue;
      switch (static_cast<task_state>(tr.state.load(std::memory_order_relaxed))) {
        case task_state::running:
          ++out.running;
          break;
        case task_state::pending_args:
        case task_state::waiting_for_resources:
          ++out.queued;
          break;
        default:
          break;
      }
    }
  }
  return out;
}

std::vector<task_info> newest_finished(size_t n, const std::vector<task_state>& states) {
  std::vector<finished_record> copy;
  auto rec = running_recorder();
  if (rec) {
    auto& h = rec->hist;
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
  auto rec = running_recorder();
  if (!rec)
    return {};
  auto& h = rec->hist;
  std::lock_guard<spin_lock> guard{h.mtx};
  return h.sums;
}

std::vector<latency_histogram> latencies() {
  std::vector<latency_histogram> out;
  auto rec = running_recorder();
  if (!rec)
    return out;
  auto& h = rec->hist;
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
