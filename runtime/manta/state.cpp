#include "manta/state.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/core/job_id.hpp"
#include "manta/core/runtime.hpp"
#include "manta/core/text_fields.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/observe/task_history.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace manta {

namespace {

constexpr std::array<std::string_view, 7> state_names{
  "PENDING_ARGS", "WAITING_FOR_RESOURCES", "QUEUED_IN_ACTOR", "RUNNING", "FINISHED", "FAILED",
  "CANCELLED",
};

bool iequals(std::string_view x, std::string_view y) {
  return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a))
                  == std::tolower(static_cast<unsigned char>(b));
         });
}

std::string id_text(object_id id) {
  return id.valid() ? to_string(id) : std::string{};
}

template <class Info>
std::vector<Info> apply(std::vector<Info> all, const list_filter& f) {
  std::vector<Info> out;
  for (auto& x : all) {
    if (out.size() >= f.limit)
      break;
    if (f.matches(x))
      out.push_back(std::move(x));
  }
  return out;
}

} // namespace

std::string_view to_string(task_state s) noexcept {
  auto i = static_cast<size_t>(s);
  return i < state_names.size() ? state_names[i] : std::string_view{"UNKNOWN"};
}

std::optional<task_state> task_state_from_string(std::string_view name) noexcept {
  for (size_t i = 0; i < state_names.size(); ++i)
    if (iequals(state_names[i], name))
      return static_cast<task_state>(i);
  return std::nullopt;
}

std::string task_info::field(std::string_view key) const {
  if (key == "id")
    return id_text(id);
  if (key == "parent")
    return id_text(parent);
  if (key == "state")
    return std::string{to_string(state)};
  static constexpr detail::text_field<task_info> table[]{
    {"name", &task_info::name},     {"kind", &task_info::kind},   {"node", &task_info::node},
    {"thread", &task_info::thread}, {"actor", &task_info::actor}, {"job", &task_info::job}};
  return detail::text_field_of(*this, key, table);
}

std::string actor_info::field(std::string_view key) const {
  using i = actor_info;
  static constexpr detail::text_field<i> table[]{
    {"id", &i::id},       {"class", &i::class_name}, {"class_name", &i::class_name},
    {"name", &i::name},   {"namespace", &i::ns},     {"ns", &i::ns},
    {"state", &i::state}, {"node", &i::node},        {"job", &i::job}};
  return detail::text_field_of(*this, key, table);
}

std::string node_info::field(std::string_view key) const {
  static constexpr detail::text_field<node_info> table[]{
    {"name", &node_info::name}, {"role", &node_info::role}, {"state", &node_info::state}};
  return detail::text_field_of(*this, key, table);
}

std::string object_memory_info::field(std::string_view key) const {
  if (key == "id")
    return to_string(id);
  using i = object_memory_info;
  static constexpr detail::text_field<i> table[]{{"location", &i::location},
                                                 {"state", &i::location},
                                                 {"type", &i::type},
                                                 {"owner", &i::owner},
                                                 {"created_by", &i::created_by}};
  return detail::text_field_of(*this, key, table);
}

list_filter list_filter::parse(const std::vector<std::string>& items) {
  list_filter out;
  for (auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw invalid_argument_error("filter '" + item + "' is not KEY=VALUE (e.g. state=RUNNING)");
    out.equals.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

bool list_filter::field_equals(const std::string& have, std::string_view key,
                               const std::string& want) {
  // States and ids are matched without regard to case: "running", "Running".
  if (key == "state" || key == "id" || key == "parent")
    return iequals(have, want);
  return have == want;
}

namespace {

/// The finished records that `read_done` returns (oldest first), then the
/// tasks and actor calls still in flight (by submission), each with its
/// job. The live ones are read first: a task's record is pushed after it
/// ended (`task_events::finish`), so a listing that read the records first
/// missed a task that ended between the two reads (timeline_test under
/// ThreadSanitizer, 1 run in 33: a parent's slice missing). A task in both
/// is listed once, by its record.
template <class ReadDone>
std::vector<task_info> with_live(ReadDone read_done) {
  auto all = detail::task_events::live_tasks();
  for (auto& core : detail::runtime::here().actors().live())
    core->list_calls(all);
  auto done = read_done();
  if (!all.empty() && !done.empty()) {
    std::vector<object_id> live_ids;
    live_ids.reserve(all.size());
    for (auto& t : all)
      live_ids.push_back(t.id);
    std::sort(live_ids.begin(), live_ids.end());
    std::vector<object_id> recorded;
    for (auto& t : done)
      if (std::binary_search(live_ids.begin(), live_ids.end(), t.id))
        recorded.push_back(t.id);
    if (!recorded.empty()) {
      std::sort(recorded.begin(), recorded.end());
      std::erase_if(all, [&](const task_info& t) {
        return std::binary_search(recorded.begin(), recorded.end(), t.id);
      });
    }
  }
  for (auto& t : all)
    if (t.thread_id != 0)
      t.thread = detail::task_events::thread_name(t.thread_id);
  std::sort(all.begin(), all.end(), [](auto& x, auto& y) {
    return x.submitted_us != y.submitted_us ? x.submitted_us < y.submitted_us : x.id < y.id;
  });
  done.insert(done.end(), std::make_move_iterator(all.begin()), std::make_move_iterator(all.end()));
  // The owner's node is in the id's high bits; its job is known here
  // (this driver's own, or sent with the owner's tasks: job_id.hpp).
  for (auto& t : done)
    t.job = detail::job_of_node(t.id.node());
  return done;
}

} // namespace

std::vector<task_info> list_tasks(const list_filter& filter) {
  detail::runtime::require("list_tasks");
  return apply(with_live([] { return detail::task_events::finished_tasks(); }), filter);
}

namespace detail {

std::vector<task_info> list_newest_tasks(const list_filter& filter, size_t n) {
  runtime::require("list_tasks");
  // A filter on the state alone picks records before they are converted.
  std::vector<task_state> states;
  bool by_state_only = true;
  for (auto& [key, value] : filter.equals) {
    if (key != "state" || !states.empty()) {
      by_state_only = false;
      break;
    }
    for (int i = 0; i <= static_cast<int>(task_state::cancelled); ++i)
      if (iequals(to_string(static_cast<task_state>(i)), value))
        states.push_back(static_cast<task_state>(i));
    if (states.empty())
      return {}; // no such state
  }
  auto unlimited = filter;
  unlimited.limit = static_cast<size_t>(-1);
  auto out = by_state_only
               ? manta::apply(with_live([&] { return task_events::newest_finished(n, states); }),
                              unlimited)
               : manta::apply(with_live([] { return task_events::finished_tasks(); }), unlimited);
  if (out.size() > n)
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(n));
  if (out.size() > filter.limit)
    out.resize(filter.limit);
  return out;
}

} // namespace detail

std::vector<actor_info> list_actors(const list_filter& filter) {
  detail::runtime::require("list_actors");
  std::vector<actor_info> all;
  for (auto& core : detail::runtime::here().actors().live()) {
    auto info = core->info();
    if (info.state != "DEAD") // those are in the directory's dead list
      all.push_back(std::move(info));
  }
  auto dead = detail::runtime::here().actors().dead();
  all.insert(all.end(), dead.begin(), dead.end());
  return apply(std::move(all), filter);
}

std::vector<node_info> list_nodes(const list_filter& filter) {
  auto& rt = detail::runtime::require("list_nodes");
  std::vector<node_info> all;
  node_info self;
  self.name = detail::runtime::node_name();
  auto* link = rt.cluster_link();
  self.role = link != nullptr && link->kind() == detail::cluster::role::worker ? "worker"
                                                                               : "driver";
  std::tie(self.available, self.total) = rt.pool().resources();
  self.queued_tasks = rt.pool().num_queued();
  self.executor_threads = rt.pool().num_threads();
  all.push_back(std::move(self));
  if (link != nullptr) {
    for (auto& w : link->workers()) {
      node_info n;
      n.name = "node-" + std::to_string(w.index) + " (pid " + std::to_string(w.pid) + ")";
      n.role = w.driver ? "driver" : "worker";
      n.total = w.custom;
      n.total[cpu_resource] = w.cpus;
      all.push_back(std::move(n));
    }
  }
  return apply(std::move(all), filter);
}

std::vector<object_memory_info> list_objects(const list_filter& filter) {
  detail::runtime::require("list_objects");
  return apply(memory_summary().objects, filter);
}

task_counts count_tasks() {
  task_counts out;
  // The live states, in task_state's order; the others are counted by the
  // totals below.
  static constexpr std::array<size_t task_counts::*, 4> live{
    &task_counts::pending_args, &task_counts::waiting_for_resources, &task_counts::queued_in_actor,
    &task_counts::running};
  auto bump = [&](task_state s) {
    if (auto i = static_cast<size_t>(s); i < live.size())
      ++(out.*live[i]);
  };
  for (auto& t : detail::task_events::live_tasks())
    bump(t.state);
  std::vector<task_info> calls;
  if (auto* rt = detail::runtime::live()) // counts what is left without one
    for (auto& core : rt->actors().live())
      core->list_calls(calls);
  for (auto& c : calls)
    bump(c.state);
  auto totals = detail::task_events::finished_totals();
  out.finished = totals.finished;
  out.failed = totals.failed;
  out.cancelled = totals.cancelled;
  return out;
}

} // namespace manta
