#include "manta/placement/placement_groups.hpp"
#include "manta/store/object_store.hpp"

#include "actors/task_runner.hpp"
#include "manta/actor/actor_anchor.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sched/submit_checks.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <array>

namespace manta::detail {

namespace {

/// How many removed groups the state API still shows.
constexpr size_t removed_kept = 64;

/// The reservation of a group: a pool job whose demand is the sum of the
/// bundles. It queues like any task while the node is busy (FIFO with the
/// tasks of the same demand), and the pool keeps its lease after it ran
/// (`keeps_lease`), so the bundles stay reserved until the group is removed.
class reserve_job final : public task_spec {
public:
  reserve_job(uint64_t group, resource_demand total, slot_ptr ready)
    : task_spec(job_name(), task_options{}), group_(group) {
    result = std::move(ready);
    own_options().resources = std::move(total);
    own_options().max_retries = 0;
    keeps_lease = true;
  }

  std::exception_ptr run() noexcept override {
    runtime::here().placements().reserved(group_, *this);
    return nullptr;
  }

private:
  static const std::string& job_name() {
    static const std::string name = "placement_group.reserve";
    return name;
  }

  uint64_t group_;
};

resource_demand as_demand(const resource_map& bundle) {
  resource_demand d{0.0, {}};
  d.assign(bundle);
  return d;
}

resource_demand sum_of(const std::vector<resource_map>& bundles) {
  resource_demand total{0.0, {}};
  for (auto& b : bundles)
    for (auto& [name, amount] : b) {
      if (name == cpu_resource)
        total.cpus += amount;
      else
        total.custom[name] += amount;
    }
  return total;
}

/// Every resource a demand asks for, CPUs under "CPU", amounts above 0.
resource_map asked(const resource_demand& d) {
  resource_map out;
  if (d.cpus > 0)
    out[cpu_resource] = d.cpus;
  for (auto& [name, amount] : d.custom)
    if (amount > 0)
      out[name] = amount;
  return out;
}

/// What `bundle` (-1: the whole group) of `r` offers.
resource_map offered(const placement_record& r, int bundle) {
  if (bundle >= 0)
    return r.bundles[static_cast<size_t>(bundle)];
  return asked(sum_of(r.bundles));
}

void fail_task(const std::shared_ptr<task_spec>& t, const std::string& label) {
  if (t->result == nullptr || t->result->done())
    return;
  auto err = std::make_exception_ptr(placement_group_removed_error(
    "task '" + t->name() + "' ran in " + label
    + ", which was removed; create the group again and resubmit the task"));
  if (!end_task(*t, task_state::failed, err))
    return; // it ended meanwhile
  // A task still queued for the bundle's resources (gone now) is dropped by
  // the pool; a running one sees manta::cancelled() turn true.
  t->request_cancel();
  actors::notify_cancelled(*t);
}

std::string removal_cause(const std::string& label) {
  return "its " + label + " was removed (placement_group_removed)";
}

} // namespace

std::string group_label(const placement_record& r) {
  return r.name.empty() ? "placement group " + r.hex
                        : "placement group '" + r.name + "' (" + r.hex + ")";
}

std::string bundle_resource(const std::string& resource, int bundle, const std::string& hex) {
  if (bundle < 0)
    return resource + "_group_" + hex;
  return resource + "_group_" + std::to_string(bundle) + "_" + hex;
}

placement_ptr placement_registry::create(std::vector<resource_map> bundles,
                                         placement_strategy strategy, std::string name) {
  auto& rt = runtime::require("create_placement_group");
  std::string who = name.empty() ? "create_placement_group" : "placement group '" + name + "'";
  if (bundles.empty())
    throw invalid_argument_error(who + ": no bundles; give at least one, e.g. {{\"CPU\", 1}}");
  if (!name.empty() && name.find_first_not_of(" \t") == std::string::npos)
    throw invalid_argument_error(who + ": a blank name; give a name or none");
  for (size_t i = 0; i < bundles.size(); ++i) {
    auto what = who + ", bundle " + std::to_string(i);
    check_demand(as_demand(bundles[i]), what);
    if (asked(as_demand(bundles[i])).empty())
      throw invalid_argument_error(what
                                   + " reserves nothing; give each bundle at least one "
                                     "resource above 0, e.g. {{\"CPU\", 1}}");
  }
  // Outside a cluster every bundle is reserved on this node
  // (docs/architecture.md, "Placement groups"), so the group fits only if
  // their sum fits here; a driver lays them out over the cluster's nodes.
  auto total = sum_of(bundles);
  resource_demand node{rt.total_cpus(), rt.total_custom()};
  auto* link = rt.cluster_link();
  // A driver lays the bundles out over its cluster's nodes, a simulation
  // over its virtual nodes (sim_groups.cpp), by the same steps.
  bool spread = (link != nullptr && link->kind() == cluster::role::driver) || sim_engaged();
  if (spread)
    ; // checked below, once the record exists
  else if (strategy == placement_strategy::strict_spread && bundles.size() > 1)
    throw placement_group_infeasible_error(
      who + " asks for " + std::to_string(bundles.size())
      + " STRICT_SPREAD bundles, each on a node of its own, but bundles are reserved on "
        "this node only (one node); use SPREAD or PACK, or one bundle");
  else if (!total.fits_in(node.cpus, node.custom))
    throw placement_group_infeasible_error(
      who + " needs " + total.to_string() + " in all (" + std::to_string(bundles.size())
      + " bundles, " + std::string{to_string(strategy)} + ") but this node has only "
      + node.to_string()
      + " in total, so it can never be reserved; use fewer or smaller bundles, or start "
        "the node with more (init_options::num_cpus / resources)");
  auto rec = std::make_shared<placement_record>();
  auto oid = rt.next_object_id();
  rec->id = oid.value();
  rec->hex = to_string(oid);
  rec->name = std::move(name);
  rec->strategy = strategy;
  rec->bundles = std::move(bundles);
  rec->ready = std::make_shared<object_slot>(&rt.store(), oid);
  rec->spread = spread;
  std::vector<indexed_bundle> all;
  for (size_t b = 0; b < rec->bundles.size(); ++b)
    all.emplace_back(static_cast<uint32_t>(b), rec->bundles[b]);
  rec->installed = hosted_bundles::names_for(rec->hex, all);
  if (spread)
    check_cluster_fit(*rec, who);
  else
    rec->job = std::make_shared<reserve_job>(rec->id, total, rec->ready);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!rec->name.empty()) {
      if (by_name_.count(rec->name) > 0)
        throw invalid_argument_error(who
                                     + ": a live placement group has this name; remove "
                                       "it first (remove_placement_group) or pick another");
      by_name_[rec->name] = rec;
    }
    live_[rec->id] = rec;
    std::lock_guard<std::mutex> names{names_mtx_};
    live_hex_.insert(rec->hex);
    for (auto& [res, amount] : rec->installed)
      resource_names_.insert(res);
  }
  if (spread)
    hand_to_cluster(rec);
  else
    rt.pool().schedule(rec->job);
  return rec;
}

void placement_registry::reserved(uint64_t id, const task_spec& job) {
  placement_ptr rec;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = live_.find(id);
    if (i == live_.end()) {
      // Removed (or the runtime shut down) while the lease was granted.
      if (auto* rt = runtime::current())
        rt->pool().release(job.opts.resources, job.lease_owner());
      return;
    }
    rec = i->second;
    rec->state = placement_record::phase::created;
    rec->node = runtime::node_name();
    // The pool's `release` adds to a resource's free amount, creating it:
    // the bundles become free resources of their own, and the tasks that
    // wait for them are granted. Under the registry's lock, so that a
    // removal cannot come between.
    if (auto* rt = runtime::current())
      rt->pool().release(resource_demand{0.0, rec->installed}, rec.get());
  }
  static const auto yes = std::make_shared<const bool>(true);
  rec->ready->seal_value(yes, typeid(bool), sizeof(bool));
}

void placement_registry::remove(const placement_ptr& pg, const std::string& cause) {
  if (pg == nullptr)
    throw invalid_argument_error("remove_placement_group: an empty placement_group handle");
  auto& rt = runtime::require("remove_placement_group");
  std::vector<std::weak_ptr<task_spec>> tasks;
  std::vector<std::weak_ptr<actor_core>> actors;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (pg->state == placement_record::phase::removed || live_.count(pg->id) == 0)
      return;
    bool created = pg->state == placement_record::phase::created;
    pg->state = placement_record::phase::removed;
    live_.erase(pg->id);
    {
      std::lock_guard<std::mutex> names{names_mtx_};
      live_hex_.erase(pg->hex);
      for (auto& [res, amount] : pg->installed)
        resource_names_.erase(res);
    }
    if (!pg->name.empty())
      by_name_.erase(pg->name);
    removed_.push_back(pg);
    if (removed_.size() > removed_kept)
      removed_.pop_front();
    tasks.swap(pg->tasks);
    actors.swap(pg->actors);
    pg->cause = cause;
    if (pg->spread) {
      // The cluster client gives every node's bundles back (or, while it
      // is reserving them, gives up and gives back what it got).
      release_in_cluster(pg);
    } else if (created) {
      // The node's resources come back, and the bundles' names leave the
      // pool: a lease given back on a name that is stale now drops it
      // (`stale_bundle`), this one at once and those of tasks still
      // running when they end, so nothing still queued for them is
      // granted. Nothing new can ask for them (`place_in_group` refuses a
      // removed group).
      rt.pool().release(pg->job->opts.resources, pg->job->lease_owner());
      rt.pool().release(resource_demand{0.0, pg->installed}, pg.get());
    } else {
      // Still queued: taken off the queue here, or, if its lease was just
      // granted, `reserved` finds the group gone and gives the lease back.
      rt.pool().withdraw({pg->id}, 1);
    }
  }
  auto label = group_label(*pg) + (cause.empty() ? "" : " (" + cause + ")");
  pg->ready->seal_error(std::make_exception_ptr(
    placement_group_removed_error(label + " was removed before it was ready")));
  for (auto& w : tasks)
    if (auto t = w.lock())
      fail_task(t, label);
  for (auto& w : actors)
    if (auto a = w.lock())
      a->kill(removal_cause(label), false);
}

placement_ptr placement_registry::find(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = by_name_.find(name);
  return i == by_name_.end() ? nullptr : i->second;
}

placement_ptr placement_registry::apply(const placement_option& opt, resource_demand& demand,
                                        scheduling_strategy& where, const std::string& who) const {
  if (opt.group == 0)
    return nullptr;
  check_demand(demand, who); // before its names change
  placement_ptr rec;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = live_.find(opt.group); i != live_.end())
      rec = i->second;
  }
  if (rec == nullptr)
    throw placement_group_removed_error(
      who + ": its placement group " + to_string(object_id{opt.group})
      + " was removed (or belongs to a runtime that shut down); create a new group");
  if (opt.bundle < -1 || opt.bundle >= static_cast<int>(rec->bundles.size()))
    throw invalid_argument_error(who + ": bundle index " + std::to_string(opt.bundle)
                                 + " is out of range; " + group_label(*rec) + " has bundles 0 to "
                                 + std::to_string(rec->bundles.size() - 1) + " (-1: any bundle)");
  auto have = offered(*rec, opt.bundle);
  auto want = asked(demand);
  std::string where_text = opt.bundle < 0
                             ? group_label(*rec) + " (all bundles)"
                             : "bundle " + std::to_string(opt.bundle) + " of " + group_label(*rec);
  for (auto& [res, amount] : want) {
    auto i = have.find(res);
    if (i == have.end() || amount > i->second + 1e-9)
      throw infeasible_task_error(who + " needs " + demand.to_string() + " but " + where_text
                                  + " reserves only " + as_demand(have).to_string()
                                  + ", so it could never run there; ask for less "
                                    "(num_cpus/resources) or make the bundle bigger");
  }
  resource_demand renamed{0.0, {}};
  for (auto& [res, amount] : want) {
    if (opt.bundle >= 0)
      renamed.custom[bundle_resource(res, opt.bundle, rec->hex)] = amount;
    renamed.custom[bundle_resource(res, -1, rec->hex)] = amount;
  }
  auto node = rec->spread ? node_for(*rec, opt.bundle, want, who)
                          : runtime::require("placement_group").node_index();
  demand = std::move(renamed);
  where = {scheduling_strategy::node_affinity, node, false};
  if (rec->spread) {
    // The cluster client asks the registry for the bundle's node at each
    // placement (`resolve`): it is not known yet while the group is
    // pending, and it changes when the bundle's node dies.
    where.group = rec->id;
    where.bundle = opt.bundle;
  }
  return rec;
}

namespace {

template <class T>
void prune_expired(std::vector<std::weak_ptr<T>>& xs) {
  // Amortized: only when the list doubled since it was last pruned.
  if (xs.size() < 64 || (xs.size() & (xs.size() - 1)) != 0)
    return;
  std::erase_if(xs, [](const std::weak_ptr<T>& w) { return w.expired(); });
}

/// Adds `x` to the group's list `xs` under `mtx`, unless the group was
/// removed (then false: the caller fails what it tracked).
template <class T>
bool add_unless_removed(std::mutex& mtx, const placement_record& pg,
                        std::vector<std::weak_ptr<T>>& xs, const std::shared_ptr<T>& x) {
  std::lock_guard<std::mutex> guard{mtx};
  if (pg.state == placement_record::phase::removed)
    return false;
  prune_expired(xs);
  xs.push_back(x);
  return true;
}

} // namespace

void placement_registry::track(const placement_ptr& pg, const std::shared_ptr<task_spec>& t) {
  if (!add_unless_removed(mtx_, *pg, pg->tasks, t))
    fail_task(t, group_label(*pg)); // removed since `apply`
}

void placement_registry::track(const placement_ptr& pg, const std::shared_ptr<actor_core>& a) {
  if (!add_unless_removed(mtx_, *pg, pg->actors, a))
    a->kill(removal_cause(group_label(*pg)), false);
}

std::vector<placement_group_info> placement_registry::list() const {
  std::vector<placement_ptr> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [id, rec] : live_)
      all.push_back(rec);
    std::sort(all.begin(), all.end(), [](auto& x, auto& y) { return x->id < y->id; });
    all.insert(all.end(), removed_.begin(), removed_.end());
  }
  std::vector<placement_group_info> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& rec : all) {
    placement_group_info info;
    info.id = rec->hex;
    info.name = rec->name;
    info.strategy = std::string{to_string(rec->strategy)};
    // By placement_record::phase, in its order.
    static constexpr std::array<const char*, 4> phase_names{"PENDING", "CREATED", "RESCHEDULING",
                                                            "REMOVED"};
    info.state = phase_names[static_cast<size_t>(rec->state)];
    for (size_t b = 0; b < rec->bundles.size(); ++b)
      info.bundles.push_back(
        bundle_info{b, rec->bundles[b],
                    b < rec->bundle_node_names.size() ? rec->bundle_node_names[b] : rec->node});
    for (auto& w : rec->tasks)
      if (auto t = w.lock(); t && t->result && !t->result->done())
        ++info.tasks;
    for (auto& w : rec->actors)
      if (!w.expired())
        ++info.actors;
    out.push_back(std::move(info));
  }
  return out;
}

bool placement_registry::covers(const resource_demand& d) const {
  if (d.cpus > 0)
    return false;
  std::lock_guard<std::mutex> guard{names_mtx_};
  for (auto& [name, amount] : d.custom)
    if (amount > 0 && resource_names_.count(name) == 0)
      return false;
  return true;
}

bool placement_registry::stale(const std::string& name) const {
  // "<resource>_group_[<bundle>_]<16 hex digits>"
  constexpr size_t hex_digits = 16;
  if (name.size() <= hex_digits + 1 || name.find("_group_") == std::string::npos
      || name[name.size() - hex_digits - 1] != '_')
    return false;
  auto hex = name.substr(name.size() - hex_digits);
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    return false;
  std::lock_guard<std::mutex> guard{names_mtx_};
  return live_hex_.count(hex) == 0;
}

void placement_registry::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  live_.clear();
  by_name_.clear();
  removed_.clear();
  std::lock_guard<std::mutex> names{names_mtx_};
  resource_names_.clear();
  live_hex_.clear();
}

bool stale_bundle(const std::string& name) {
  return name.size() > 17 && name.find("_group_") != std::string::npos
         && runtime::here().placements().stale(name);
}

bool in_placement_group(const resource_demand& d) {
  return runtime::here().placements().covers(d);
}

placement_ptr place_in_group(const placement_option& opt, resource_demand& demand,
                             scheduling_strategy& where, const std::string& who) {
  return runtime::here().placements().apply(opt, demand, where, who);
}

void track_in_group(const placement_ptr& pg, const std::shared_ptr<task_spec>& t) {
  runtime::here().placements().track(pg, t);
}

void track_in_group(const placement_ptr& pg, const std::shared_ptr<actor_anchor>& a) {
  runtime::here().placements().track(pg, a->core);
}

} // namespace manta::detail
