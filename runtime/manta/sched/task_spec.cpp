#include "manta/sched/task_spec.hpp"
#include "manta/store/object_store.hpp"

#include "actors/task_runner.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/observe/task_recorder.hpp"
#include "manta/sched/parker.hpp"
#include "manta/placement/placement_groups.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sched/submit_checks.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/sched/task_placer.hpp"
#include "manta/sched/typed_task.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>

namespace manta::detail {

namespace {

/// The shared defaults' address, looked up once (a call and its static's
/// guard a task otherwise). Null while this file's statics are not made
/// yet (a task made by another file's static initializer): the task then
/// copies its options, as any task with options of its own.
const task_options* const shared_defaults = &default_task_options();

} // namespace

task_spec::task_spec(const std::string& fn_name, const task_options& options)
  : function_name(fn_name),
    opts(&options == shared_defaults ? options : own_opts_.emplace(options)) {
  // nop
}

task_spec::task_spec(const std::string& fn_name, task_options&& options)
  : function_name(fn_name), opts(own_opts_.emplace(std::move(options))) {
  // nop
}

task_spec::~task_spec() {
  task_events::on_destroy(*this);
  if (has_runner.load(std::memory_order_acquire))
    std::launder(reinterpret_cast<caf::actor*>(runner_storage))->~actor();
}

void task_spec::request_cancel() noexcept {
  cancelled_.store(true, std::memory_order_release);
  if (auto* p = blocked_on.load(std::memory_order_acquire))
    p->unpark(); // a thread's parker lives as long as the thread
}

void task_spec::release_args() noexcept {
  if (args_released() || sim_engaged())
    return;
  if (deps.empty()) { // no object argument: nothing a listing reads changes (the hot case)
    args_released_.store(true, std::memory_order_release);
    release_held();
    return;
  }
  std::vector<task_info::argument> kept;
  if (trace.tracked) {
    try {
      task_events::read_args(*this, kept, nullptr);
    } catch (...) {
      kept.clear(); // no memory: listed without them
    }
  }
  {
    std::lock_guard<spin_lock> guard{args_lock};
    released_args = std::move(kept);
    args_released_.store(true, std::memory_order_release);
  }
  // One at a time, each dropped outside the lock (declared before the
  // guard, it dies after the unlock): the last ref of an object frees its
  // value (an 800 MB buffer back to the pool).
  for (auto& d : deps) {
    slot_ptr dropped;
    std::lock_guard<spin_lock> guard{args_lock};
    dropped.swap(d);
  }
  release_held();
}

void task_spec::encode_args(std::vector<std::optional<std::vector<char>>>&) const {
  throw std::runtime_error("task '" + name() + "' cannot run on another node");
}

void task_spec::append_arg(std::vector<std::optional<std::vector<char>>>& out,
                           std::optional<std::vector<char>> bytes) {
  out.push_back(std::move(bytes));
}

void task_spec::seal_encoded(std::span<const char>) {
  seal_decode_error(*result, name(), "its result type cannot be decoded");
}

void task_spec::seal_remote(std::shared_ptr<remote_object>, size_t) {
  seal_decode_error(*result, name(), "its result type cannot be fetched");
}

void seal_decode_error(object_slot& slot, const std::string& task, const std::string& what) {
  slot.seal_error(std::make_exception_ptr(
    error("task '" + task + "' ran on another node but its result is unusable: " + what)));
}

void report_stays_on_driver(const task_spec& spec, const std::string& why) {
  static std::mutex mtx;
  static std::set<std::string> reported;
  std::lock_guard guard{mtx};
  if (reported.insert(spec.function_name).second)
    detail::log_line(log_level::warning, "manta: tasks of '%s' run only on this driver: %s\n",
                     spec.function_name.c_str(), why.c_str());
}

void seal_void(object_slot& slot) {
  // A task returning void still seals "something" so that get and wait see
  // it finish; every void result shares this one value.
  static const auto nothing = std::make_shared<const char>('\0');
  slot.seal_value(nothing, typeid(void), 0);
}

slot_ptr submit(task_ptr spec) {
  auto& rt = runtime::require("task(...).remote");
  auto& demand = spec->opts.resources;
  // The task's name goes into a message only when it throws: no string is
  // built for every submit. The common demand (at most one CPU, nothing
  // else; NaN fails both tests) is checked here without the call, whose
  // returned string cost ~30 instructions a task.
  if (!demand.custom.empty() || !(demand.cpus >= 0 && demand.cpus <= 1))
    if (auto why = demand_problem(demand); !why.empty())
      throw invalid_argument_error("task '" + spec->name() + "': " + why);
  // A negative count used to mean "no retries" without a word (Ray's -1,
  // "without limit", is not what Manta does).
  if (spec->opts.max_retries < 0)
    throw invalid_argument_error("task '" + spec->name() + "': max_retries("
                                 + std::to_string(spec->opts.max_retries)
                                 + ") is not a count; give 0 (never re-run) or more");
  auto slot = rt.store().table().create(rt.next_object_id(), spec);
  spec->result = slot;
  note_child(slot); // cancelled with the task or call submitting it
  task_events::on_submit(spec);
  // A task that can never run fails at once: its slot gets the error.
  auto fail = [&](const infeasible_task_error& e) {
    end_task(*spec, task_state::failed, std::make_exception_ptr(e));
  };
  // Where a task may go beyond this node: null unless this is a driver of
  // a cluster.
  auto* placer = task_placer_of(rt);
  // Why this driver's task cannot leave it; empty when it can (or this is
  // not a driver of a cluster).
  std::string stays;
  if (placer != nullptr && !spec->remote_capable()) {
    stays = spec->travel_blocker();
    report_stays_on_driver(*spec, stays);
    placer = nullptr; // runs here or nowhere
  }
  auto& where = spec->opts.strategy;
  if (where.kind == scheduling_strategy::node_affinity && where.node == rt.node_index()) {
    placer = nullptr; // pinned here
  } else if (where.kind == scheduling_strategy::node_affinity && placer == nullptr
             && !sim_engaged()) { // a simulation places it on its virtual node
    if (!where.soft) {
      fail(infeasible_task_error(
        "task '" + spec->name() + "' is pinned to node " + std::to_string(where.node)
        + (rt.cluster_link() == nullptr ? " but this runtime is a single node (node 0)"
           : stays.empty()              ? " but only a driver sends tasks to other nodes"
                                        : " but it cannot leave this node: " + stays)
        + "; use node_affinity(node, /*soft=*/true) to let it run here"));
      return slot;
    }
  }
  // A task in a placement group asks for its bundle's resources, checked
  // against the bundle when it was submitted (`place_in_group`).
  // The common demand (CPUs only, as many as the node has or fewer) fits
  // without the call.
  bool fits_here = (demand.custom.empty() && demand.cpus <= rt.total_cpus())
                   || demand.fits_in(rt.total_cpus(), rt.total_custom());
  if (!fits_here && (placer == nullptr || !placer->feasible(demand)) && !in_placement_group(demand)
      && !sim_fits_a_node(demand)) { // a virtual node's own resources
    resource_demand total{rt.total_cpus(), rt.total_custom()};
    if (sim_engaged())
      sim_fits_a_node(demand, &total);
    if (placer != nullptr)
      for (auto& [name, amount] : placer->worker_totals()) {
        if (name == cpu_resource)
          total.cpus += amount;
        else
          total.custom[name] += amount;
      }
    if (!stays.empty()) {
      fail(infeasible_task_error("task '" + spec->name() + "' needs " + demand.to_string()
                                 + " and cannot leave this node, which has only "
                                 + total.to_string() + ": " + stays));
      return slot;
    }
    fail(
      infeasible_task_error("task '" + spec->name() + "' needs " + demand.to_string()
                            + " but the cluster has only " + total.to_string()
                            + " in total, so it can never run; lower its num_cpus/resources or "
                              "start the runtime with more (init_options::num_cpus / resources)"));
    return slot;
  }
  // Only a task with an argument still to come needs an actor to wait for
  // it. Spawning one for a task that is ready would put a spawn and a hop to
  // a scheduler thread (about half the cost of a task) under every submit.
  if (std::all_of(spec->deps.begin(), spec->deps.end(), [](auto& d) { return d->done(); })) {
    // From user code: the pool may leave the task to this thread's `get`
    // (worker_pool.hpp, watch_wanted).
    auto& ctx = this_task();
    ctx.submitting = true;
    struct reset {
      bool& flag;
      ~reset() { flag = false; }
    } done{ctx.submitting};
    actors::hand_over(std::move(spec), rt.pool(), placer);
  } else if (sim_engaged())
    sim_wait_for_args(std::move(spec)); // the simulation's thread hands it over
  else
    rt.system().spawn<caf::hidden>(actors::task_runner, std::move(spec), &rt.pool(), placer);
  return slot;
}

} // namespace manta::detail
