#include "manta/placement/hosted_bundles.hpp"
#include "manta/store/object_store.hpp"

#include "manta/placement/placement_groups.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/object_id.hpp"

namespace manta::detail {

namespace {

/// Holds the bundles' sum: a pool job that keeps its lease after it ran
/// (as an actor's constructor job does), given back by `release`.
class hold_job final : public task_spec {
public:
  hold_job(resource_demand total, slot_ptr slot) : task_spec(job_name(), task_options{}) {
    result = std::move(slot);
    own_options().resources = std::move(total);
    own_options().max_retries = 0;
    keeps_lease = true;
  }

  std::exception_ptr run() noexcept override { return nullptr; }

private:
  static const std::string& job_name() {
    static const std::string name = "placement_group.hold";
    return name;
  }
};

} // namespace

resource_map hosted_bundles::names_for(const std::string& hex,
                                       const std::vector<indexed_bundle>& bundles) {
  resource_map out;
  for (auto& [index, bundle] : bundles)
    for (auto& [res, amount] : bundle) {
      out[bundle_resource(res, static_cast<int>(index), hex)] += amount;
      out[bundle_resource(res, -1, hex)] += amount;
    }
  return out;
}

std::string hosted_bundles::prepare(uint64_t group, const std::vector<indexed_bundle>& bundles,
                                    uint16_t owner) {
  auto* rt = runtime::current();
  if (rt == nullptr)
    return "the node is shutting down";
  resource_demand total{0.0, {}};
  for (auto& [index, bundle] : bundles)
    for (auto& [res, amount] : bundle) {
      if (res == cpu_resource)
        total.cpus += amount;
      else
        total.custom[res] += amount;
    }
  std::lock_guard<std::mutex> guard{mtx_};
  if (groups_.count(group) > 0)
    return {}; // asked twice (a retry after a lost answer): it holds them
  auto job = std::make_shared<hold_job>(
    total, std::make_shared<object_slot>(&rt->store(), rt->next_object_id()));
  std::shared_ptr<task_spec> t = job;
  if (!rt->pool().try_schedule(t))
    return runtime::node_name() + " has not " + total.to_string() + " free now";
  entry e;
  e.hex = to_string(object_id{group});
  e.owner = owner;
  e.bundles = bundles;
  e.job = std::move(job);
  groups_.emplace(group, std::move(e));
  return {};
}

bool hosted_bundles::commit(uint64_t group) {
  auto* rt = runtime::current();
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = groups_.find(group);
  if (i == groups_.end() || rt == nullptr)
    return false;
  auto& e = i->second;
  if (e.committed)
    return true;
  e.committed = true;
  e.installed = names_for(e.hex, e.bundles);
  e.adopted = placements_.adopt_names(e.hex, e.installed);
  // The pool's `release` adds to a resource's free amount, creating it.
  rt->pool().release(resource_demand{0.0, e.installed}, e.job.get());
  return true;
}

void hosted_bundles::give_back(entry& e) {
  auto* rt = runtime::current();
  if (e.adopted)
    placements_.drop_names(e.hex, e.installed);
  if (rt == nullptr)
    return;
  // The names are stale now (unless the owner's registry here still holds
  // them, and drops them at removal): given back, the pool drops them, and
  // the tasks still running in the bundle drop them again when they end.
  if (e.committed)
    rt->pool().release(resource_demand{0.0, e.installed}, e.job.get());
  rt->pool().release(e.job->opts.resources, e.job->lease_owner());
}

void hosted_bundles::release(uint64_t group) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = groups_.find(group);
  if (i == groups_.end())
    return;
  give_back(i->second);
  groups_.erase(i);
}

void hosted_bundles::release_owner(uint16_t owner) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = groups_.begin(); i != groups_.end();) {
    if (i->second.owner == owner) {
      give_back(i->second);
      i = groups_.erase(i);
    } else {
      ++i;
    }
  }
}

void hosted_bundles::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  groups_.clear();
}

size_t hosted_bundles::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return groups_.size();
}

} // namespace manta::detail
