// What an actor's options ask of each call before it is queued: the
// pending-call limit (back pressure) and concurrency groups. Apart from the
// engine in actor_core.cpp; actors without either never come here.
#include "manta/actor/actor_core.hpp"

#include "manta/actor_errors.hpp"
#include "manta/actor/actor_anchor.hpp"

#include <algorithm>
#include <numeric>

namespace manta::detail {

namespace {

/// Named groups one actor may have: a call's group is a bit in a 64-bit
/// mask when the queue is scanned, and the default group takes one.
constexpr size_t max_groups = 63;

/// What the group of the default (no group) calls is called in errors and
/// per-call picks.
const std::string default_group = "default";

std::string group_list(const std::vector<std::string>& names) {
  std::string out;
  for (auto& n : names)
    out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

} // namespace

void check_call_options(const actor_options& opts, const std::string& actor, bool remote) {
  if (opts.max_pending_calls < -1)
    throw invalid_argument_error(actor + ": max_pending_calls("
                                 + std::to_string(opts.max_pending_calls)
                                 + ") must be a count above 0, or -1 (or 0) for no limit");
  auto& groups = opts.concurrency_groups;
  if (groups.empty()) {
    if (!opts.method_groups.empty())
      throw invalid_argument_error(actor + ": concurrency_group(&T::method, \""
                                   + opts.method_groups.front().second
                                   + "\") names a group the actor does not have; give its "
                                     "groups with concurrency_groups({{\"name\", n}, ...})");
    return;
  }
  if (remote)
    throw invalid_argument_error(actor
                                 + ": concurrency groups are kept by the node that "
                                   "holds the actor's calls, and this actor is placed on another "
                                   "node; drop concurrency_groups(...) (max_concurrency(n) "
                                   "works there) or keep the actor on this node");
  if (groups.size() > max_groups)
    throw invalid_argument_error(actor + ": " + std::to_string(groups.size())
                                 + " concurrency groups; at most " + std::to_string(max_groups));
  for (size_t i = 0; i < groups.size(); ++i) {
    auto& g = groups[i];
    check_actor_name(g.name, "concurrency group", "concurrency_groups");
    if (g.name == default_group)
      throw invalid_argument_error(actor
                                   + ": concurrency group 'default' is the group of "
                                     "methods given none (limited by max_concurrency); give "
                                     "yours another name");
    if (g.max_concurrency < 1)
      throw invalid_argument_error(actor + ": concurrency group '" + g.name + "' has limit "
                                   + std::to_string(g.max_concurrency)
                                   + "; a group runs at least 1 call at once");
    for (size_t j = 0; j < i; ++j)
      if (groups[j].name == g.name)
        throw invalid_argument_error(actor + ": concurrency group '" + g.name
                                     + "' is given twice; give each group once");
  }
  for (auto& [method, group] : opts.method_groups) {
    bool known = group == default_group || std::any_of(groups.begin(), groups.end(), [&](auto& g) {
                   return g.name == group;
                 });
    if (!known)
      throw invalid_argument_error(actor + ": concurrency_group(&T::" + *method + ", \"" + group
                                   + "\"): no such group; give it in concurrency_groups(...)");
  }
}

void actor_core::init_groups() {
  screens_ = opts_.max_pending_calls > 0 || !opts_.concurrency_groups.empty();
  if (opts_.concurrency_groups.empty())
    return;
  group_names_.push_back(default_group);
  group_limits_.push_back(max_concurrency_);
  for (auto& g : opts_.concurrency_groups) {
    group_names_.push_back(g.name);
    group_limits_.push_back(g.max_concurrency);
  }
  group_running_.assign(group_limits_.size(), 0);
  for (auto& [method, group] : opts_.method_groups) {
    auto i = std::find(group_names_.begin(), group_names_.end(), group);
    method_groups_.emplace_back(method, static_cast<uint8_t>(i - group_names_.begin()));
  }
  // The actor as a whole runs up to every group's limit at once.
  max_concurrency_ = std::accumulate(group_limits_.begin(), group_limits_.end(), 0);
}

void actor_core::admit(actor_call& c, const std::string* group) {
  if (group != nullptr) {
    auto i = std::find(group_names_.begin(), group_names_.end(), *group);
    if (i == group_names_.end())
      throw invalid_argument_error(
        "call of " + display_name_ + "." + c.method_name + " with concurrency_group(\"" + *group
        + "\"): "
        + (group_names_.empty() ? std::string{"the actor has no concurrency groups; give them with "
                                              "actor<T>().concurrency_groups({{\"name\", n}, ...})"}
                                : "no such group; its groups are " + group_list(group_names_)));
    c.group = static_cast<uint8_t>(i - group_names_.begin());
  } else {
    for (auto& [method, g] : method_groups_)
      if (method == &c.method_name) {
        c.group = g;
        break;
      }
  }
  if (int limit = opts_.max_pending_calls; limit > 0) {
    if (pending_.fetch_add(1, std::memory_order_acq_rel) >= limit) {
      pending_.fetch_sub(1, std::memory_order_acq_rel);
      throw pending_calls_limit_error(
        "actor " + display_name_ + " has " + std::to_string(limit)
        + " calls submitted and not finished, its max_pending_calls(" + std::to_string(limit)
        + ") limit, so this call of '" + c.method_name
        + "' was refused (back pressure); wait for earlier results (manta::get, manta::wait) "
          "and submit again, or raise max_pending_calls");
    }
    c.counts_pending.store(true, std::memory_order_release);
  }
}

size_t actor_core::next_grouped_locked() const {
  uint64_t blocked = 0; // groups whose earliest queued call cannot run yet
  for (size_t i = 0; i < queue_.size(); ++i) {
    auto& c = *queue_[i];
    auto bit = uint64_t{1} << c.group;
    if ((blocked & bit) != 0)
      continue; // keeps the group's order: an earlier call of it waits
    if (group_running_[c.group] < group_limits_[c.group] && c.deps_done())
      return i;
    blocked |= bit;
  }
  return queue_.size();
}

} // namespace manta::detail
