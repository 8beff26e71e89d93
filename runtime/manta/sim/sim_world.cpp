#include "manta/sim/sim_world.hpp"

#include "actors/task_runner.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_job.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"

#include <algorithm>

namespace manta::detail::sim {

struct world::arg_wait final : waiter {
  world* w = nullptr;
  task_ptr task;
  std::atomic<size_t> left{0};

  void on_ready() noexcept override {
    if (left.fetch_sub(1, std::memory_order_acq_rel) != 1)
      return;
    auto* self = w;
    auto* key = task.get();
    auto ready = [self, key] {
      auto it = self->arg_waits_.find(key);
      if (it == self->arg_waits_.end())
        return;
      auto t = std::move(it->second->task);
      self->arg_waits_.erase(it);
      actors::hand_over(std::move(t), runtime::require("simulation").pool(), nullptr);
    };
    if (w->eng_.on_owner())
      w->eng_.after(vtime{0}, event_kind::wake, 0, id_of(*key), std::move(ready));
    else
      w->eng_.post(std::move(ready));
  }
};

world::world(const simulation_options& opts, vtime connection_timeout)
  : opts_(opts), eng_(opts.seed), nodes_(opts.nodes), runs_(opts.nodes), doomed_(opts.nodes),
    spread_last_(opts.nodes, 0), side_(opts.nodes, 0), group_port_(make_group_port(*this)),
    groups_(*group_port_, bundle_reservations::when_no_room::wait_for_free),
    started_(std::chrono::steady_clock::now()) {
  connection_timeout_ = connection_timeout;
  for (auto& n : nodes_)
    n.free_cpus = opts.cpus_per_node;
  free_sum_ = opts.cpus_per_node * static_cast<double>(opts.nodes);
  if (!opts.node_resources.empty()) {
    custom_.resize(opts.nodes);
    for (auto& [n, own] : opts.node_resources) {
      if (n >= opts.nodes)
        throw invalid_argument_error("manta sim: node_resources names node " + std::to_string(n)
                                     + " but the simulation has nodes 0 to "
                                     + std::to_string(opts.nodes - 1));
      for (auto& [name, amount] : own)
        if (name == cpu_resource || name.empty() || !(amount > 0)
            || name.find("_group_") != std::string::npos)
          throw invalid_argument_error(
            "manta sim: node_resources of node " + std::to_string(n) + ": '" + name
            + "' = " + std::to_string(amount)
            + " is not a custom resource with an amount above 0; give names other than "
              "\"CPU\" (CPUs are cpus_per_node) with amounts such as {\"GPU\", 1}");
      custom_[n].total = own;
      custom_[n].free = own;
    }
  }
  if (!opts.trace_file.empty()) {
    trace_ = std::fopen(opts.trace_file.c_str(), "w");
    if (trace_ == nullptr)
      throw invalid_argument_error("manta sim: cannot write the trace file " + opts.trace_file
                                   + "; give a path in a folder you can write");
    eng_.trace_to(trace_);
  }
  for (auto& f : opts_.faults)
    add_fault(f);
  // Kills drawn from the seed: which node, and when (before the other
  // random faults, which have streams of their own).
  auto& rng = eng_.stream("faults");
  for (uint32_t i = 0; i < opts_.random_kills && opts_.nodes > 1; ++i) {
    sim_fault f;
    f.what = sim_fault::kind::kill;
    f.node = 1 + static_cast<uint32_t>(rng() % (opts_.nodes - 1));
    f.at = vtime{static_cast<int64_t>(
      rng() % static_cast<uint64_t>(std::max<int64_t>(1, opts_.kill_window.count())))};
    add_fault(f);
  }
  draw_faults();
  measuring_ = opts_.cost == sim_cost::measured;
}

world::~world() {
  // Runs still blocked at shutdown: their waiters come off the objects
  // (which their stacks keep alive) before they go.
  while (!suspended_.empty())
    unpark(*suspended_.front());
  // The lineages go while the world is whole: their tasks' arguments
  // leave `produced_` as they go.
  std::unordered_map<const object_slot*, held_result> held;
  {
    std::lock_guard guard{produced_mtx_};
    held.swap(held_);
  }
  held.clear();
  if (trace_ != nullptr)
    std::fclose(trace_);
}

uint64_t world::id_of(const task_spec& t) noexcept {
  if (auto* job = dynamic_cast<const actor_job*>(&t))
    return static_cast<const actor_core*>(job->lease_owner())->id() | (uint64_t{1} << 63);
  return t.result ? t.result->id().value() : 0;
}

uint32_t world::current_node() const noexcept {
  return current_ == nullptr ? 0 : current_->rec->node;
}

// -- handed in by the runtime ---------------------------------------------------

void world::schedule(task_ptr t) {
  if (!eng_.on_owner()) {
    eng_.post([this, t = std::move(t)]() mutable { schedule(std::move(t)); });
    return;
  }
  if (t->cancelled())
    return;
  ready_.push_back(queued{std::move(t), current_node(), nullptr, false});
  place_ready();
}

void world::wait_for_args(task_ptr t) {
  auto w = std::make_unique<arg_wait>();
  w->w = this;
  w->task = t;
  // One more than the arguments, taken back below: none fires it early.
  w->left.store(t->deps.size() + 1, std::memory_order_relaxed);
  auto* raw = w.get();
  arg_waits_.emplace(t.get(), std::move(w));
  size_t added = 0;
  for (auto& dep : t->deps)
    if (dep->add_waiter(raw))
      ++added;
  raw->left.fetch_sub(t->deps.size() - added, std::memory_order_acq_rel);
  raw->on_ready(); // the extra one; hands it over if all were sealed
}

manta::sim::run_summary world::summary() const {
  manta::sim::run_summary s;
  s.seed = opts_.seed;
  s.nodes = opts_.nodes;
  s.events = eng_.events();
  s.trace_hash = eng_.trace_hash();
  s.virtual_time = eng_.now();
  s.real_seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  s.external_events = eng_.external();
  s.tasks_lost = tasks_lost_;
  s.actors_killed = actors_killed_;
  s.measured_runs = measured_runs_;
  return s;
}

} // namespace manta::detail::sim
