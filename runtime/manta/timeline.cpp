#include "manta/timeline.hpp"

#include "manta/observe/json.hpp"
#include "manta/core/runtime.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/observe/task_history.hpp"
#include "manta/observe/timeline_events.hpp"
#include "manta/errors.hpp"
#include "manta/state.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include <unistd.h>

namespace manta {

namespace bj = boost::json;

namespace {

/// The args every event of a run carries: what identifies it in a trace.
bj::object args_of(const task_info& t, const bj::storage_ptr& sp) {
  bj::object out(sp);
  out.reserve(7);
  out["id"] = to_string(t.id);
  out["state"] = to_string(t.state);
  out["kind"] = detail::json::text(t.kind, sp);
  if (t.parent.valid())
    out["parent"] = to_string(t.parent);
  if (!t.actor.empty())
    out["actor"] = detail::json::text(t.actor, sp);
  if (t.attempts > 1)
    out["attempts"] = t.attempts;
  if (!t.error.empty())
    out["error"] = detail::json::text(t.error, sp);
  return out;
}

/// A metadata event naming process `pid`'s row `tid` (0: the process).
bj::object name_event(const char* what, int pid, uint32_t tid, std::string_view name,
                      const bj::storage_ptr& sp) {
  return bj::object({{"ph", "M"},
                     {"name", what},
                     {"pid", pid},
                     {"tid", tid},
                     {"args", {{"name", detail::json::text(name, sp)}}}},
                    sp);
}

} // namespace

namespace detail {

std::string timeline_events(size_t newest) {
  runtime::require("timeline");
  auto now_us = task_events::to_wall_us(task_events::now_ns());
  // Bounded: the newest records (those that ended last, and the live ones)
  // hold the runs that started last.
  auto tasks = newest != 0 ? list_newest_tasks({}, newest) : list_tasks();
  std::vector<const task_info*> ran;
  for (auto& t : tasks)
    if (t.started_us > 0 && t.thread_id != 0)
      ran.push_back(&t);
  if (newest != 0 && ran.size() > newest) { // the runs that started last
    std::nth_element(ran.begin(), ran.begin() + static_cast<std::ptrdiff_t>(newest), ran.end(),
                     [](auto* x, auto* y) { return x->started_us > y->started_us; });
    ran.resize(newest);
  }
  // By row, then by start: each row reads in time order. Two runs that
  // start in the same microsecond: one that also ended in it (a call
  // shorter than a microsecond, followed by the next on the row) comes
  // first; else the one that ends last comes first, as it holds the other
  // (a task that runs the task it waits for on its own thread, help while
  // waiting, at once), and a trace viewer stacks a parent before its child.
  auto end_of = [now_us](const task_info* t) { return t->ended_us > 0 ? t->ended_us : now_us; };
  std::sort(ran.begin(), ran.end(), [&](auto* x, auto* y) {
    if (x->thread_id != y->thread_id)
      return x->thread_id < y->thread_id;
    if (x->started_us != y->started_us)
      return x->started_us < y->started_us;
    bool x_instant = end_of(x) == x->started_us;
    bool y_instant = end_of(y) == y->started_us;
    if (x_instant != y_instant)
      return x_instant;
    return end_of(x) > end_of(y);
  });
  // Each event built in a buffer on the stack and serialized in place, as
  // json::to_json's records: one tree of all the runs was slower.
  std::string out;
  out.reserve(ran.size() * 256); // a run's event is about 200 bytes
  auto append = [&](auto&& make) {
    alignas(std::max_align_t) unsigned char buffer[2048];
    bj::monotonic_resource arena(buffer, sizeof buffer);
    if (!out.empty())
      out += ',';
    json::append_value(out, bj::value(make(bj::storage_ptr{&arena})));
  };
  auto pid = static_cast<int>(::getpid());
  append([&](const bj::storage_ptr& sp) {
    return name_event("process_name", pid, 0, runtime::node_name(), sp);
  });
  std::set<uint32_t> rows;
  for (auto* t : ran)
    rows.insert(t->thread_id);
  for (auto row : rows)
    append([&](const bj::storage_ptr& sp) {
      return name_event("thread_name", pid, row, task_events::thread_name(row), sp);
    });
  for (auto* t : ran) {
    auto event = [&](const char* ph, const bj::storage_ptr& sp) {
      bj::object e(sp);
      e.reserve(9);
      e["ph"] = ph;
      e["name"] = json::text(t->name, sp);
      e["cat"] = json::text(t->kind, sp);
      e["pid"] = pid;
      e["tid"] = t->thread_id;
      return e;
    };
    auto end = end_of(t);
    if (t->suspended) {
      // Async spans may overlap others on their thread; Chrome draws them
      // on their own track, matched by id: a begin, then an end.
      append([&](const bj::storage_ptr& sp) {
        auto e = event("b", sp);
        e["id"] = to_string(t->id);
        e["ts"] = t->started_us;
        e["args"] = args_of(*t, sp);
        return e;
      });
      append([&](const bj::storage_ptr& sp) {
        auto e = event("e", sp);
        e["id"] = to_string(t->id);
        e["ts"] = end;
        return e;
      });
    } else {
      append([&](const bj::storage_ptr& sp) {
        auto e = event("X", sp);
        e["ts"] = t->started_us;
        e["dur"] = std::max<int64_t>(0, end - t->started_us);
        e["args"] = args_of(*t, sp);
        return e;
      });
    }
  }
  return out;
}

std::string trace_document(const std::string& events) {
  return "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[" + events + "]}\n";
}

} // namespace detail

std::string timeline() {
  return timeline(0);
}

std::string timeline(size_t newest) {
  return detail::trace_document(detail::timeline_events(newest));
}

void timeline(const std::string& path) {
  auto text = timeline();
  std::ofstream f{path, std::ios::binary | std::ios::trunc};
  f << text;
  f.flush();
  if (!f)
    throw error("manta::timeline: cannot write " + path);
}

} // namespace manta
