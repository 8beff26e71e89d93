#include "manta/sim/sim_world.hpp"

#include "manta/actor/actor_core.hpp"
#include "manta/errors.hpp"

#include <ctime>

// The cost models of the simulated cluster (docs/simulation.md, "Cost
// models"): how long a task's or an actor call's run takes in virtual time.
namespace manta::detail::sim {

void world::set_duration(const std::string& function, vtime d) {
  costs_[function] = cost_rule{sim_cost::declared, d, nullptr};
}

void world::set_cost(const std::string& function, sim_cost model) {
  auto& rule = costs_[function];
  rule.model = model;
  rule.fn = nullptr;
  measuring_ = measuring_ || model == sim_cost::measured;
}

void world::set_cost_fn(const std::string& function, sim_cost_fn fn) {
  costs_[function] = cost_rule{sim_cost::declared, std::nullopt, std::move(fn)};
}

vtime world::duration_of(run_rec& r) {
  auto& t = *r.task;
  auto model = opts_.cost;
  std::optional<vtime> fixed;
  if (auto it = costs_.find(t.name()); it != costs_.end()) {
    if (it->second.fn) {
      auto d = it->second.fn(t);
      if (d < vtime{0})
        throw invalid_argument_error("manta sim: the cost function of '" + t.name()
                                     + "' gave a negative duration");
      return d;
    }
    model = it->second.model;
    fixed = it->second.fixed;
  }
  switch (model) {
    case sim_cost::zero:
      return vtime{0};
    case sim_cost::measured:
      r.measured = true;
      return vtime{0};
    case sim_cost::declared:
      break;
  }
  return fixed.value_or(opts_.task_duration);
}

vtime thread_cpu_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return vtime{static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec};
}

vtime world::cpu_used(const run_fiber& rf) const {
  return rf.cpu + (thread_cpu_now() - rf.slice_start);
}

void world::charge_measured(vtime used) {
  ++measured_runs_;
  auto q = std::max<int64_t>(1, opts_.cpu_quantum.count());
  auto rounded = (used.count() + q / 2) / q * q; // the nearest quantum
  auto& rf = *current_;
  auto d = vtime{static_cast<int64_t>(static_cast<double>(rounded) * nodes_[rf.rec->node].slow)};
  if (d > vtime{0})
    block([] { return false; }, eng_.now() + d); // as a sleep: it keeps its CPUs
}

void world::before_seal(const object_slot& slot) {
  if (current_ == nullptr || !eng_.on_owner())
    return;
  auto& rf = *current_;
  if (!rf.rec->measured || rf.rec->actor || rf.rec->task->result.get() != &slot)
    return;
  rf.rec->measured = false; // once per run
  charge_measured(cpu_used(rf));
}

void world::call_starts(const std::string& name) {
  if (current_ == nullptr || !eng_.on_owner())
    return;
  auto& rf = *current_;
  auto model = opts_.cost;
  std::optional<vtime> fixed;
  if (auto it = costs_.find(name); it != costs_.end() && !it->second.fn) {
    model = it->second.model;
    fixed = it->second.fixed;
  }
  if (model == sim_cost::zero)
    return;
  if (model == sim_cost::measured) {
    rf.call_measured = true;
    rf.call_cpu = cpu_used(rf);
    return;
  }
  auto d = fixed.value_or(opts_.call_duration);
  d = vtime{static_cast<int64_t>(static_cast<double>(d.count()) * nodes_[rf.rec->node].slow)};
  if (d > vtime{0})
    block([] { return false; }, eng_.now() + d); // the call's work, before its code runs
}

void world::call_ends() {
  if (current_ == nullptr || !eng_.on_owner() || !current_->call_measured)
    return;
  auto& rf = *current_;
  rf.call_measured = false;
  charge_measured(cpu_used(rf) - rf.call_cpu);
}

} // namespace manta::detail::sim
