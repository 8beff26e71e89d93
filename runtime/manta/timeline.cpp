#include "manta/timeline.hpp"

#include "manta/detail/json.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/detail/task_events.hpp"
#include "manta/detail/task_history.hpp"
#include "manta/errors.hpp"
#include "manta/state.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include <unistd.h>

namespace manta {

namespace {

/// The args every event of a run carries: what identifies it in a trace.
std::string args_of(const task_info& t) {
  std::string out = "{\"id\":" + detail::json::quote(to_string(t.id));
  out += ",\"state\":" + detail::json::quote(to_string(t.state));
  out += ",\"kind\":" + detail::json::quote(t.kind);
  if (t.parent.valid())
    out += ",\"parent\":" + detail::json::quote(to_string(t.parent));
  if (!t.actor.empty())
    out += ",\"actor\":" + detail::json::quote(t.actor);
  if (t.attempts > 1)
    out += ",\"attempts\":" + std::to_string(t.attempts);
  if (!t.error.empty())
    out += ",\"error\":" + detail::json::quote(t.error);
  return out + "}";
}

} // namespace

std::string timeline() {
  return timeline(0);
}

std::string timeline(size_t newest) {
  detail::runtime::require("timeline");
  auto now_us = detail::task_events::to_wall_us(detail::task_events::now_ns());
  // Bounded: the newest records (those that ended last, and the live ones)
  // hold the runs that started last.
  auto tasks = newest != 0 ? detail::list_newest_tasks({}, newest) : list_tasks();
  std::vector<const task_info*> ran;
  for (auto& t : tasks)
    if (t.started_us > 0 && t.thread_id != 0)
      ran.push_back(&t);
  if (newest != 0 && ran.size() > newest) { // the runs that started last
    std::nth_element(ran.begin(), ran.begin() + static_cast<std::ptrdiff_t>(newest), ran.end(),
                     [](auto* x, auto* y) { return x->started_us > y->started_us; });
    ran.resize(newest);
  }
  // By row, then by start, then by end: each row reads in time order.
  // Calls shorter than a microsecond share their start with the next one
  // on the row; the end puts the one that finished first first.
  auto end_of = [now_us](const task_info* t) { return t->ended_us > 0 ? t->ended_us : now_us; };
  std::sort(ran.begin(), ran.end(), [&](auto* x, auto* y) {
    if (x->thread_id != y->thread_id)
      return x->thread_id < y->thread_id;
    if (x->started_us != y->started_us)
      return x->started_us < y->started_us;
    return end_of(x) < end_of(y);
  });
  std::string out = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  auto pid = std::to_string(::getpid());
  out += "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" + pid + ",\"tid\":0,\"args\":{\"name\":"
         + detail::json::quote(detail::runtime::node_name()) + "}}";
  std::set<uint32_t> rows;
  for (auto* t : ran)
    rows.insert(t->thread_id);
  for (auto row : rows)
    out += ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" + pid
           + ",\"tid\":" + std::to_string(row) + ",\"args\":{\"name\":"
           + detail::json::quote(detail::task_events::thread_name(row)) + "}}";
  for (auto* t : ran) {
    auto end = end_of(t);
    auto dur = std::to_string(std::max<int64_t>(0, end - t->started_us));
    auto common = "\"name\":" + detail::json::quote(t->name)
                  + ",\"cat\":" + detail::json::quote(t->kind) + ",\"pid\":" + pid
                  + ",\"tid\":" + std::to_string(t->thread_id);
    if (t->suspended) {
      // Async spans may overlap others on their thread; Chrome draws them
      // on their own track, matched by id.
      auto id = ",\"id\":" + detail::json::quote(to_string(t->id));
      out += ",\n{\"ph\":\"b\"," + common + id + ",\"ts\":" + std::to_string(t->started_us)
             + ",\"args\":" + args_of(*t) + "}";
      out += ",\n{\"ph\":\"e\"," + common + id + ",\"ts\":" + std::to_string(end) + "}";
    } else {
      out += ",\n{\"ph\":\"X\"," + common + ",\"ts\":" + std::to_string(t->started_us)
             + ",\"dur\":" + dur + ",\"args\":" + args_of(*t) + "}";
    }
  }
  out += "\n]}\n";
  return out;
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
