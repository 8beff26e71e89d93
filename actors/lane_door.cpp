// The submitting thread's way onto a task lane (lane_door.hpp): its
// choice of worker, its spec and its write. What the cluster client does
// with the tasks written this way is lane_submit.cpp's.
#include "actors/lane_door.hpp"

#include "actors/cluster_client.hpp"
#include "actors/placed_tasks.hpp"
#include "manta/cluster/node_choice.hpp"
#include "manta/observe/task_events.hpp"
#include "manta/store/contained_refs.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace manta::actors {

namespace {

/// The task's encoded TaskSpec, as `send_prepared` makes it for a task
/// whose arguments are all values; none if an argument holds a ref (its
/// lending is the client's: the try is undone, the refs' pins go).
std::optional<detail::wire::bytes> spec_of(detail::task_spec& t, const std::string& job_id) {
  std::vector<std::optional<detail::wire::bytes>> args;
  {
    detail::lend_scope lending;
    t.encode_args(args);
    if (auto lent = lending.take(); !lent.empty()) {
      detail::contained_refs dropped{std::move(lent)};
      return std::nullopt;
    }
  }
  auto msg = spec_fields(t, job_id);
  msg.args.reserve(args.size());
  for (auto& a : args) {
    if (!a)
      return std::nullopt; // an object argument: the client reads it
    msg.args.push_back(std::move(*a));
  }
  return detail::wire::encode(msg);
}

} // namespace

bool lane_door::submit(const detail::task_ptr& t, const std::string& job_id) {
  auto& d = t->opts.resources;
  // Only what the client would send as one spec at once, placed by the
  // default rule alone: no group (its bundles go over CAF first), no custom
  // resource, no argument still to read, no generator with back pressure
  // (its acks). A generator without it may come (its items' handlers book
  // the door's tasks first: its lineage is made from the task's books).
  if (t->opts.strategy.kind != scheduling_strategy::default_placement || t->opts.strategy.group != 0
      || !d.custom.empty() || !t->deps.empty() || t->item_window != 0 || t->cancelled())
    return false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_ || nodes_.empty() || !claims_)
      return false;
  }
  auto spec = spec_of(*t, job_id);
  if (!spec)
    return false;
  auto id = t->result->id().value();
  // One choice and write at a time, and the client takes the written
  // tasks only between them (`take_sent`).
  std::lock_guard<std::mutex> writing{write_mtx_};
  std::shared_ptr<detail::task_lane::client> lane;
  uint16_t index = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_ || !claims_ || t->cancelled())
      return false;
    // The client's rule (node_choice.hpp, `choose_node`), asked as the
    // client asks it for the default strategy with this node's pool full
    // (hand_over tried it) and nothing preferred (no object argument): the
    // least-loaded worker with room, the lowest index on a tie; if none has
    // room, the task waits, which is the client's to do.
    static thread_local std::vector<detail::node_view> views;
    views.clear();
    for (auto& n : nodes_) {
      bool fits = d.fits_in(n.cpus, {});
      views.push_back({n.index, fits,
                       fits && (d.cpus <= 0 || n.busy + d.cpus <= n.cpus * remote_queue_factor),
                       n.busy / std::max(n.cpus, 1e-9)});
    }
    uint32_t spread_last = 0; // not read for the default strategy
    auto choice = detail::choose_node({t->opts.strategy, std::nullopt, 0}, views, spread_last);
    if (choice.kind != detail::node_choice::run_on)
      return false;
    auto at = std::find_if(nodes_.begin(), nodes_.end(),
                           [&](const node& n) { return n.index == choice.node; });
    node* best = at != nodes_.end() ? &*at : nullptr;
    if (best == nullptr || !best->lane || !best->lane->up() || best->lane->worn())
      return false;
    lane = best->lane;
    index = best->index;
    // In the claims table and the door before the spec is out (its answer
    // may come at once), as the task's first dispatch.
    claims_->add(id, index, best->key, 1, t);
    best->busy += d.cpus;
    sent_.push_back(sent{t, id, index, best->key, {}});
  }
  t->attempts.store(1, std::memory_order_relaxed);
  detail::task_events::on_dispatched(*t, index);
  bool ok = lane->send_spec(*spec);
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = std::find_if(sent_.begin(), sent_.end(), [&](const sent& s) { return s.id == id; });
  if (ok) {
    count_lane_event(lane_event::spec_by_submitter);
    if (i != sent_.end()) // else answered and sealed already: no books
      i->spec = std::move(*spec);
    return true;
  }
  // Not sent (half of it at most: the worker drops the connection), so not
  // answered: its entries are still this thread's (the client takes none
  // while a write is under way), undone.
  claims_->claim(id);
  t->attempts.store(0, std::memory_order_relaxed);
  if (i != sent_.end())
    sent_.erase(i);
  for (auto& n : nodes_)
    if (n.index == index)
      n.busy -= d.cpus;
  return false;
}

bool lane_door::answered(uint64_t id, uint16_t node, double cpus) {
  // This lock is never held across a write: a reader never waits for one.
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& n : nodes_)
    if (n.index == node)
      n.busy -= cpus;
  auto i = std::find_if(sent_.begin(), sent_.end(), [&](const sent& s) { return s.id == id; });
  if (i != sent_.end()) {
    sent_.erase(i);
    return true;
  }
  sealed_[id] = {node, cpus};
  return false;
}

void lane_door::settled(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  sealed_.erase(id);
}

std::vector<lane_door::sent> lane_door::take_sent() {
  std::lock_guard<std::mutex> writing{write_mtx_}; // no write under way
  std::lock_guard<std::mutex> guard{mtx_};
  return std::exchange(sent_, {});
}

void lane_door::publish(std::vector<node> nodes) {
  std::lock_guard<std::mutex> guard{mtx_};
  nodes_ = std::move(nodes);
  for (auto& n : nodes_) {
    for (auto& s : sent_)
      if (n.index == s.node)
        n.busy += s.task->opts.resources.cpus;
    for (auto& [id, e] : sealed_)
      if (n.index == e.first)
        n.busy -= e.second;
  }
  if (closed_)
    nodes_.clear();
}

void lane_door::adopt(std::shared_ptr<lane_claims> claims) {
  std::lock_guard<std::mutex> guard{mtx_};
  claims_ = std::move(claims);
}

void lane_door::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  closed_ = true;
  nodes_.clear();
  sealed_.clear();
}

} // namespace manta::actors
