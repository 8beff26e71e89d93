#include "manta/simulation.hpp"

#include "manta/observe/log_sink.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sim/sim_config.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/sim/sim_read.hpp"
#include "manta/sim/sim_world.hpp"
#include "manta/errors.hpp"

#include <array>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

namespace manta {

namespace detail {

namespace sim {
std::atomic<world*> g_world{nullptr};
} // namespace sim

namespace {

std::unique_ptr<sim::world> g_owned;
std::mutex g_last_mtx;
manta::sim::run_summary g_last;

sim::world* current_world() noexcept {
  return sim::g_world.load(std::memory_order_acquire);
}

} // namespace

bool sim_drives_this_thread() noexcept {
  auto* w = current_world();
  return w != nullptr && w->eng().on_owner();
}

void sim_schedule(task_ptr t) {
  if (auto* w = current_world())
    w->schedule(std::move(t));
}

void sim_wait_for_args(task_ptr t) {
  auto* w = current_world();
  if (w == nullptr)
    return;
  if (w->eng().on_owner())
    w->wait_for_args(std::move(t));
  else // a thread of the program's own: the simulation's thread registers it
    w->eng().post([w, t = std::move(t)]() mutable { w->wait_for_args(std::move(t)); });
}

void sim_post(std::function<void()> fn) {
  auto* w = current_world();
  if (w == nullptr)
    return;
  if (w->eng().on_owner())
    w->eng().after(sim::vtime{0}, sim::event_kind::wake, 0, 0, std::move(fn));
  else
    w->eng().post(std::move(fn));
}

void sim_post_after(std::chrono::nanoseconds d, std::function<void()> fn) {
  auto* w = current_world();
  if (w == nullptr)
    return;
  if (w->eng().on_owner())
    w->eng().after(d, sim::event_kind::wake, 0, 0, std::move(fn));
  else
    w->eng().post([w, d, fn = std::move(fn)]() mutable {
      w->eng().after(d, sim::event_kind::wake, 0, 0, std::move(fn));
    });
}

namespace {

/// The deadlines made lately on the driving thread, with their virtual
/// deadlines: a ring, looked up by the real deadline (the fibers that made
/// them share the thread; a wait looks its deadline up right after making
/// it, or a little later for `get(refs, timeout)`).
struct noted_deadline {
  std::chrono::steady_clock::time_point real;
  sim::vtime at{0};
};
constexpr size_t noted_deadlines = 1024;
thread_local std::array<noted_deadline, noted_deadlines> t_noted{};
thread_local size_t t_next_noted = 0;

} // namespace

void sim_note_deadline(std::chrono::steady_clock::time_point deadline,
                       std::chrono::steady_clock::duration timeout) noexcept {
  auto* w = current_world();
  if (w == nullptr)
    return;
  t_noted[t_next_noted++ % noted_deadlines] = noted_deadline{
    deadline, w->eng().now() + std::chrono::duration_cast<sim::vtime>(timeout)};
}

namespace {

bool block_until(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline,
                 std::span<object_slot* const> watch, bool poll, bool read) {
  auto& w = *current_world();
  std::optional<sim::vtime> until;
  for (size_t i = 1; i <= std::min(t_next_noted, noted_deadlines) && !until
                     && deadline != std::chrono::steady_clock::time_point::max();
       ++i) // the latest first
    if (auto& n = t_noted[(t_next_noted - i) % noted_deadlines]; n.real == deadline)
      until = n.at;
  if (!until && deadline != std::chrono::steady_clock::time_point::max()) {
    auto left = deadline - std::chrono::steady_clock::now();
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left);
    until = w.eng().now() + std::max(ms, std::chrono::milliseconds{0});
  }
  return w.block(done, until, watch, poll, read);
}

} // namespace

bool sim_block(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline,
               std::span<object_slot* const> watch, bool poll) {
  return block_until(done, deadline, watch, poll, false);
}

bool sim_block_read(const std::function<bool()>& done,
                    std::chrono::steady_clock::time_point deadline, object_slot& slot) {
  object_slot* watched = &slot;
  return block_until(done, deadline, {&watched, 1}, false, true);
}

bool sim_lost_run(const std::exception_ptr& e) noexcept {
  return current_world() != nullptr && sim::world::lost_run(e);
}

void sim_before_seal(object_slot& slot) {
  if (auto* w = current_world())
    w->before_seal(slot);
}

void sim_sealed(const object_slot& slot) noexcept {
  if (auto* w = current_world())
    w->sealed(slot);
}

void sim_slot_gone(const object_slot* slot) noexcept {
  if (auto* w = current_world())
    w->forget(slot);
}

void sim_call_starts(const std::string& name) {
  if (auto* w = current_world())
    w->call_starts(name);
}

void sim_call_ends() {
  if (auto* w = current_world())
    w->call_ends();
}

void sim_set_cost_fn(const std::string& function, sim_cost_fn fn) {
  auto* w = current_world();
  if (w == nullptr)
    throw not_initialized_error("manta::sim::set_cost: no simulation runs; call "
                                "manta::init with simulation_options (or --simulate) first");
  w->set_cost_fn(function, std::move(fn));
}

bool sim_fits_a_node(const resource_demand& d, resource_demand* total) {
  auto* w = current_world();
  return w != nullptr && w->fits_a_node(d, total);
}

std::vector<layout_node> sim_group_nodes() {
  auto* w = current_world();
  return w != nullptr ? w->group_nodes() : std::vector<layout_node>{};
}

void sim_place_group(const std::shared_ptr<placement_record>& pg) {
  if (auto* w = current_world())
    w->place_group(pg);
}

void sim_remove_group(const std::shared_ptr<placement_record>& pg) {
  if (auto* w = current_world())
    w->remove_group(pg);
}

void sim_actor_gone(const actor_core* core) {
  if (auto* w = current_world())
    w->actor_gone(core);
}

void sim_stop() noexcept {
  auto* w = current_world();
  if (w == nullptr)
    return;
  auto s = w->summary();
  {
    std::lock_guard guard{g_last_mtx};
    g_last = s;
  }
  if (w->options().print_summary)
    log_line(log_level::info, "%s\n", manta::sim::to_string(s).c_str());
  sim::g_world.store(nullptr, std::memory_order_release);
  g_owned.reset();
}

} // namespace detail

void init(init_options opts, simulation_options sim) {
  if (detail::runtime::current() != nullptr || detail::sim_engaged())
    throw error("manta::init: the runtime runs already; call shutdown() first");
  if (!sim.schedule_file.empty())
    detail::read_sim_schedule(sim.schedule_file, sim);
  if (sim.nodes == 0)
    throw invalid_argument_error("manta sim: nodes must be at least 1");
  if (!(sim.cpus_per_node > 0))
    throw invalid_argument_error("manta sim: cpus_per_node must be > 0");
  if (!(sim.loss >= 0 && sim.loss < 1))
    throw invalid_argument_error("manta sim: loss must be in [0, 1)");
  if (!(sim.bandwidth >= 0))
    throw invalid_argument_error(
      "manta sim: bandwidth must be >= 0 bytes per second (0: unlimited)");
  if (!(sim.slow_factor > 0))
    throw invalid_argument_error("manta sim: slow_factor must be > 0");
  if (opts.address)
    throw invalid_argument_error("manta::init: --simulate runs the whole cluster in this "
                                 "process; drop --address");
  if (!opts.resources.empty())
    throw invalid_argument_error(
      "manta::init: --resources (init_options::resources) names one node's resources, but "
      "--simulate runs virtual nodes; give each its own with --sim-resources "
      "(simulation_options::node_resources), e.g. --sim-resources=\"1=GPU:1;2=disk:2\"");
  // Each virtual node has the same CPUs; the runtime's own totals are one
  // node's, so a task larger than a node is infeasible as on a cluster
  // (unless a virtual node's custom resources hold it: sim_fits_a_node).
  opts.num_cpus = sim.cpus_per_node;
  opts.dashboard_port.reset();
  auto w = std::make_unique<detail::sim::world>(sim, opts.connection_timeout);
  detail::sim::g_world.store(w.get(), std::memory_order_release);
  try {
    init(std::move(opts));
  } catch (...) {
    detail::sim::g_world.store(nullptr, std::memory_order_release);
    throw;
  }
  detail::g_owned = std::move(w);
}

void sleep(std::chrono::nanoseconds d) {
  if (detail::sim_drives_this_thread()) {
    auto& w = *detail::current_world();
    w.block([] { return false; }, w.eng().now() + d);
    return;
  }
  std::this_thread::sleep_for(d);
}

std::chrono::steady_clock::time_point now() {
  if (auto* w = detail::current_world())
    return std::chrono::steady_clock::time_point{
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(w->eng().now())};
  return std::chrono::steady_clock::now();
}

namespace sim {

bool active() noexcept {
  return detail::sim_engaged();
}

run_summary summary() {
  if (auto* w = detail::current_world())
    return w->summary();
  std::lock_guard guard{detail::g_last_mtx};
  return detail::g_last;
}

std::string to_string(const run_summary& s) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "manta sim: seed=%" PRIu64 " nodes=%u events=%" PRIu64
                " virtual=%.6fs real=%.3fs tasks_lost=%" PRIu64 " actors_killed=%" PRIu64
                " external=%" PRIu64 " trace_hash=%016" PRIx64,
                s.seed, s.nodes, s.events, static_cast<double>(s.virtual_time.count()) / 1e9,
                s.real_seconds, s.tasks_lost, s.actors_killed, s.external_events, s.trace_hash);
  std::string out = buf;
  if (s.measured_runs > 0) // measured CPU times: this run may not replay
    out += " measured=" + std::to_string(s.measured_runs);
  return out;
}

void set_duration(const std::string& function, std::chrono::nanoseconds d) {
  auto* w = detail::current_world();
  if (w == nullptr)
    throw not_initialized_error("manta::sim::set_duration: no simulation runs; call "
                                "manta::init with simulation_options (or --simulate) first");
  w->set_duration(function, d);
}

void set_cost(const std::string& function, sim_cost model) {
  auto* w = detail::current_world();
  if (w == nullptr)
    throw not_initialized_error("manta::sim::set_cost: no simulation runs; call "
                                "manta::init with simulation_options (or --simulate) first");
  w->set_cost(function, model);
}

void schedule(const sim_fault& f) {
  auto* w = detail::current_world();
  if (w == nullptr)
    throw not_initialized_error("manta::sim::schedule: no simulation runs; call "
                                "manta::init with simulation_options (or --simulate) first");
  auto copy = f;
  copy.at = std::max(copy.at, w->eng().now());
  w->add_fault(copy);
}

uint32_t current_node() noexcept {
  auto* w = detail::current_world();
  return w != nullptr ? w->current_node() : 0;
}

} // namespace sim

} // namespace manta
