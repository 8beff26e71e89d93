#include "manta/observe/log_store.hpp"

#include <algorithm>

namespace manta::detail {

void log_store::add(object_id id, const std::string& name, uint64_t actor, std::string line) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto [it, fresh] = by_task_.try_emplace(id);
  if (fresh) {
    it->second.name = name;
    it->second.actor = actor;
    order_.push_back(id);
    if (order_.size() > max_tasks) {
      by_task_.erase(order_.front());
      order_.pop_front();
    }
  }
  if (it->second.lines.size() < max_lines_per_task)
    it->second.lines.emplace_back(++seq_, std::move(line));
}

std::vector<std::string> log_store::lines_of(object_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  if (auto i = by_task_.find(id); i != by_task_.end())
    for (auto& [seq, line] : i->second.lines)
      out.push_back(line);
  return out;
}

bool log_store::has(object_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  return by_task_.count(id) > 0;
}

std::vector<log_entry> log_store::query(const log_query& q, uint64_t& last) {
  // The window is chosen over light references and only its lines are
  // copied: a node keeps up to 10,000 x 1,000 lines, and a follower asks
  // four times a second. `keep` lines are kept in a heap, the oldest
  // (`tail` unset: the first `limit`) or the newest (`tail`).
  struct ref {
    uint64_t seq;
    object_id task;
    const task_lines* lines;
    const std::string* line;
  };
  bool newest = q.tail != std::numeric_limits<size_t>::max();
  size_t keep = newest ? std::min(q.tail, q.limit) : q.limit;
  // Newest: a min-heap (its top is the oldest kept); oldest: a max-heap.
  auto later = [newest](const ref& x, const ref& y) {
    return newest ? x.seq > y.seq : x.seq < y.seq;
  };
  std::vector<ref> heap;
  size_t matches = 0;
  std::lock_guard<std::mutex> guard{mtx_};
  auto collect = [&](object_id id, const task_lines& t) {
    // Lines of a task are in seq order: skip those already seen.
    auto first = std::upper_bound(t.lines.begin(), t.lines.end(), q.after,
                                  [](uint64_t after, const auto& l) { return after < l.first; });
    // A search that the task's name matches takes all its lines.
    bool all_match = q.contains.empty() || t.name.find(q.contains) != std::string::npos;
    if (all_match)
      matches += static_cast<size_t>(t.lines.end() - first);
    auto offer = [&](const std::pair<uint64_t, std::string>& l) {
      if (!all_match) {
        if (l.second.find(q.contains) == std::string::npos)
          return true; // not a match: look further
        ++matches;
      }
      // A full heap takes no line past its top, nor any after it in this
      // task's (ordered) lines: the caller stops.
      if (heap.size() == keep && (keep == 0 || !later({l.first, id, &t, &l.second}, heap.front())))
        return false;
      heap.push_back({l.first, id, &t, &l.second});
      std::push_heap(heap.begin(), heap.end(), later);
      if (heap.size() > keep) {
        std::pop_heap(heap.begin(), heap.end(), later);
        heap.pop_back();
      }
      return true;
    };
    if (newest) {
      for (auto i = t.lines.end(); i != first && offer(*(i - 1)); --i) {
      }
    } else {
      for (auto i = first; i != t.lines.end() && offer(*i); ++i) {
      }
    }
  };
  auto wanted = [&](const task_lines& t) {
    if (q.actor == 0 && q.actor_prefix.empty())
      return true;
    if (q.actor != 0 && t.actor == q.actor)
      return true;
    return t.actor == 0 && !q.actor_prefix.empty() && t.name.rfind(q.actor_prefix, 0) == 0;
  };
  if (q.task.valid()) {
    if (auto i = by_task_.find(q.task); i != by_task_.end())
      collect(i->first, i->second);
  } else {
    // Ids grow with time: visiting the likeliest lines first fills the heap
    // with lines that later tasks' lines rarely displace.
    if (newest) {
      for (auto i = by_task_.rbegin(); i != by_task_.rend(); ++i)
        if (wanted(i->second))
          collect(i->first, i->second);
    } else {
      for (auto& [id, t] : by_task_)
        if (wanted(t))
          collect(id, t);
    }
  }
  std::sort(heap.begin(), heap.end(), [](const ref& x, const ref& y) { return x.seq < y.seq; });
  std::vector<log_entry> out;
  out.reserve(heap.size());
  for (auto& r : heap)
    out.push_back({r.seq, r.task, r.lines->name, *r.line});
  // Cut short (not a tail): the next request goes on after the last line.
  last = !newest && matches > out.size() && !out.empty() ? out.back().seq : seq_;
  return out;
}

void log_store::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  by_task_.clear();
  order_.clear();
}

} // namespace manta::detail
