#include "manta/actor/actor_directory.hpp"
#include "manta/actor/attached_actor.hpp"
#include "manta/actor/far_actors.hpp"

#include "actors/actor_host.hpp"
#include "manta/actor_errors.hpp"
#include "manta/simulation.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_defaults.hpp"
#include "manta/placement/placement_groups.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sched/submit_checks.hpp"
#include "manta/sched/task_error.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace manta::detail {

anchor_ptr actor_directory::add(const anchor_ptr& anchor) {
  auto& core = *anchor->core;
  auto& opts = core.options();
  std::lock_guard<std::mutex> guard{mtx_};
  if (!opts.name.empty()) {
    auto key = std::make_pair(opts.ns, opts.name);
    auto i = named_.find(key);
    if (i != named_.end())
      if (auto live = i->second.weak.lock(); live && opts.get_if_exists)
        return live; // get-if-exists: decided under the lock, so racers share one
    if (i != named_.end() && !i->second.weak.expired())
      throw actor_exists_error("an actor named '" + opts.name + "' already exists in namespace '"
                               + opts.ns
                               + "'; choose another name, or use the existing one "
                                 "with manta::get_actor<T>(\""
                               + opts.name + "\", \"" + opts.ns + "\")");
    named_[key] = entry{anchor, opts.detached ? anchor : nullptr, &core};
  }
  if (all_.size() >= sweep_at_) {
    std::erase_if(all_, [](auto& w) { return w.expired(); });
    sweep_at_ = std::max<size_t>(1024, all_.size() * 2);
  }
  all_.push_back(anchor->core);
  return anchor;
}

anchor_ptr actor_directory::find(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = named_.find(std::make_pair(ns, name));
  return i == named_.end() ? nullptr : i->second.weak.lock();
}

void actor_directory::remove(const actor_core& core) {
  anchor_ptr strong; // dropped after the lock: its destructor calls the core
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& opts = core.options();
    if (opts.name.empty())
      return;
    auto i = named_.find(std::make_pair(opts.ns, opts.name));
    if (i == named_.end() || i->second.core != &core)
      return;
    strong = std::move(i->second.strong);
    named_.erase(i);
  }
}

void actor_directory::stop_all() {
  std::vector<std::weak_ptr<actor_core>> all;
  std::map<std::pair<std::string, std::string>, entry> named;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    all.swap(all_);
    named.swap(named_);
    sweep_at_ = 1024;
  }
  for (auto& w : all)
    if (auto core = w.lock())
      core->kill("the runtime shut down (manta::shutdown)", false);
}

std::vector<std::shared_ptr<actor_core>> actor_directory::live() {
  std::vector<std::shared_ptr<actor_core>> out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& w : all_)
    if (auto core = w.lock())
      out.push_back(std::move(core));
  return out;
}

void actor_directory::record_dead(actor_info info) {
  std::lock_guard<std::mutex> guard{mtx_};
  dead_.push_back(std::move(info));
  if (dead_.size() > dead_history)
    dead_.pop_front();
}

std::vector<actor_info> actor_directory::dead() {
  std::lock_guard<std::mutex> guard{mtx_};
  return {dead_.begin(), dead_.end()};
}

void actor_directory::set_restart_wait(uint64_t core_id, std::string what) {
  std::lock_guard<std::mutex> guard{waits_mtx_};
  if (what.empty())
    restart_waits_.erase(core_id);
  else
    restart_waits_[core_id] = std::move(what);
}

std::string actor_directory::restart_wait(uint64_t core_id) {
  std::lock_guard<std::mutex> guard{waits_mtx_};
  auto i = restart_waits_.find(core_id);
  return i == restart_waits_.end() ? std::string{} : i->second;
}

// -- functions declared in actor_anchor.hpp ----------------------------------

namespace {

/// `anchor`, found under `name` in `ns`, if it is a `cls`.
anchor_ptr checked_class(anchor_ptr anchor, const std::type_info& cls, const std::string& name,
                         const std::string& ns) {
  if (anchor->core->type() != cls)
    throw actor_not_found_error("the actor named '" + name + "' in namespace '" + ns + "' is a "
                                + anchor->core->display_name() + ", not a " + demangle(cls.name())
                                + "; call manta::get_actor with its class");
  return anchor;
}

} // namespace

actor_anchor::~actor_anchor() {
  core->handles_gone();
}

anchor_ptr create_actor(const std::type_info& cls, actor_options opts,
                        std::unique_ptr<actor_ctor> ctor, int restarts, uint64_t id) {
  auto& rt = runtime::require("actor<T>().remote");
  const auto& info = lookup_actor_class(cls);
  apply_actor_defaults(opts);
  if (opts.get_if_exists) {
    if (opts.name.empty())
      throw invalid_argument_error("actor " + info.name
                                   + ": get_if_exists() needs a "
                                     "name(...) to look the actor up by");
    // A live one of this process is returned by add() below, under the
    // directory's lock; one another driver made is known to the head.
    if (!runtime::here().actors().find(opts.ns, opts.name)) {
      anchor_ptr found;
      try {
        found = find_on_head(cls, opts.name, opts.ns);
      } catch (const actor_not_found_error&) {
        // none on the cluster: create it
      }
      if (found)
        return checked_class(found, cls, opts.name, opts.ns);
    }
  }
  if (opts.detached && opts.name.empty())
    throw invalid_argument_error("actor " + info.name
                                 + ": lifetime_detached() needs a name(...), or the "
                                   "actor could never be found or killed again");
  check_demand(opts.resources, "actor " + info.name);
  if (opts.max_restarts < -1 || opts.max_task_retries < -1)
    throw invalid_argument_error("actor " + info.name + ": max_restarts("
                                 + std::to_string(opts.max_restarts) + ") and max_task_retries("
                                 + std::to_string(opts.max_task_retries)
                                 + ") are counts: 0 or more, or -1 for without limit");
  if (opts.max_concurrency && *opts.max_concurrency < 1)
    throw invalid_argument_error("actor " + info.name + ": max_concurrency must be at least 1");
  bool remote = place_on_other_node(opts);
  check_call_options(opts, "actor " + info.name, remote);
  // A simulation places it on its virtual node (sim_world.cpp), or on its
  // bundle's once its placement group is reserved (sim_groups.cpp).
  bool virtual_node =
    sim_engaged() && (opts.strategy.node < manta::sim::summary().nodes || opts.strategy.group != 0);
  if (!remote && opts.strategy.kind == scheduling_strategy::node_affinity
      && opts.strategy.node != rt.node_index() && !opts.strategy.soft && !virtual_node)
    throw infeasible_task_error("actor " + info.name + " is pinned to node "
                                + std::to_string(opts.strategy.node)
                                + ", but this process is not a driver connected to it; "
                                  "pin it to a live node of the cluster or drop the affinity");
  if (!remote && !opts.resources.fits_in(rt.total_cpus(), rt.total_custom())
      && !in_placement_group(opts.resources) && !sim_fits_a_node(opts.resources)) {
    resource_demand total{rt.total_cpus(), rt.total_custom()};
    if (sim_engaged())
      sim_fits_a_node(opts.resources, &total);
    throw infeasible_task_error("actor " + info.name + " needs " + opts.resources.to_string()
                                + " for its lifetime but this node has only " + total.to_string()
                                + " in total and no worker node offers it; lower its "
                                  "num_cpus/resources or start nodes with more");
  }
  if (id == 0)
    id = rt.next_object_id().value();
  auto core = std::make_shared<actor_core>(info, cls, std::move(opts), std::move(ctor), rt.pool(),
                                           remote, restarts, id);
  auto anchor = std::make_shared<actor_anchor>(core);
  if (auto live = runtime::here().actors().add(anchor); live != anchor)
    return checked_class(live, cls, live->core->options().name, live->core->options().ns);
  core->start(rt.system().spawn<caf::hidden>(actors::actor_host, core));
  return anchor;
}

anchor_ptr find_actor(const std::type_info& cls, const std::string& name,
                      const std::string& given_ns) {
  runtime::require("get_actor");
  check_actor_name(name, "name", "manta::get_actor");
  if (!given_ns.empty())
    check_actor_name(given_ns, "namespace", "manta::get_actor");
  const auto& ns = given_ns.empty() ? job_namespace() : given_ns;
  auto anchor = runtime::here().actors().find(ns, name);
  // Not here: a named actor on a worker that another driver made (a
  // detached one may have outlived it) is found through the head.
  if (!anchor)
    anchor = find_on_head(cls, name, ns);
  if (!anchor)
    throw actor_not_found_error("no live actor is named '" + name + "' in namespace '" + ns
                                + "'; create it with manta::actor<T>().name(\"" + name
                                + "\").namespace_(\"" + ns + "\").remote(...) first");
  return checked_class(anchor, cls, name, ns);
}

void kill_actor(actor_core& core, bool no_restart) {
  kill_attached(core); // another driver's actor: killed on its node too
  core.kill(no_restart ? "it was killed with manta::kill"
                       : "it was killed with manta::kill(handle, /*no_restart=*/false)",
            !no_restart);
}

const std::string& actor_display_name(const actor_core& core) {
  return core.display_name();
}

} // namespace manta::detail
