#pragma once

#include "manta/placement/bundle_layout.hpp"
#include "manta/cluster/node_choice.hpp"
#include "manta/placement/bundle_reservations.hpp"
#include "manta/placement/placement_groups.hpp"
#include "manta/sim/sim_engine.hpp"
#include "manta/sim/sim_fiber.hpp"
#include "manta/sim/sim_records.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/sched/worker_pool.hpp"
#include "manta/sim_cost.hpp"
#include "manta/simulation.hpp"

#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace manta::detail {
class actor_call;
class actor_core;
class actor_job;
}

namespace manta::detail::sim {

/// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID): what a measured
/// run used (sim_cost::measured).
vtime thread_cpu_now() noexcept;

/// The simulated cluster: virtual nodes with their CPUs, the network
/// between them, the fault schedule, and the runs of tasks and actor jobs
/// on those nodes. The runtime hands it every task whose arguments exist
/// and every actor job (sim_hooks.hpp) instead of giving them to the worker
/// pool; it places each on a node, lets its message travel, charges its
/// virtual duration and then runs it with the runtime's own `execute_task`
/// (so retries, errors and events are the real ones). Owner thread only,
/// except `post_ready`.
class world {
public:
  /// `connection_timeout`: the cluster's (`init_options`), in virtual
  /// time: a node cut off from the driver's for that long is declared dead.
  world(const simulation_options& opts, vtime connection_timeout);
  ~world();

  world(const world&) = delete;
  world& operator=(const world&) = delete;

  engine& eng() noexcept { return eng_; }
  const simulation_options& options() const noexcept { return opts_; }

  /// A task whose arguments exist, or an actor job: place it and run it.
  void schedule(task_ptr t);

  /// A task with arguments still to come: hand it over once they exist.
  void wait_for_args(task_ptr t);

  /// Waits until `done()` holds or the virtual `deadline` passes (false).
  /// On the driver's stack it runs events meanwhile; inside a run (a fiber)
  /// it yields to the event loop and is resumed when `done()` holds, the
  /// deadline passes or its node dies: then it throws the exception
  /// `lost_run` recognizes, which unwinds the task like the death of its
  /// process. For the driver, without a deadline, an empty queue is a
  /// deadlock: throws an error saying so.
  /// `watch`: the objects whose sealing may make `done()` hold (a run
  /// waiting on them is woken by their waiters); `poll`: check `done()`
  /// after every event instead (a wait whose objects are not known here);
  /// `read`: a `get` of `watch`, which rebuilds a lost object
  /// (sim_lineage.cpp) where a `wait` only sees it sealed.
  bool block(const std::function<bool()>& done, std::optional<vtime> deadline,
             std::span<object_slot* const> watch = {}, bool poll = false, bool read = false);

  /// Whether `e` is the unwinding of a run whose node died.
  static bool lost_run(const std::exception_ptr& e) noexcept;

  /// Adds a fault at its time (not in the past).
  void add_fault(const sim_fault& f);

  /// Cost models of functions and methods (sim_cost.hpp).
  void set_duration(const std::string& function, vtime d);
  void set_cost(const std::string& function, sim_cost model);
  void set_cost_fn(const std::string& function, sim_cost_fn fn);

  /// Measures the CPU time of a run whose result `slot` is (sim_cost::measured)
  /// and lets that much virtual time pass before it is sealed.
  void before_seal(const object_slot& slot);
  /// Notes where and when `slot` was sealed (results crossing the network).
  void sealed(const object_slot& slot);
  void forget(const object_slot* slot) noexcept;
  /// An actor call starts / ended on the current run's fiber.
  void call_starts(const std::string& name);
  void call_ends();
  /// `core`'s actor died for good (sim_actor_gone): what its instance held
  /// for its life is given back, and the actor is forgotten.
  void actor_gone(const actor_core* core);

  /// The node whose code runs now (0: the driver).
  uint32_t current_node() const noexcept;

  manta::sim::run_summary summary() const;

  // -- custom resources and placement groups (sim_groups.cpp) --

  /// Whether some virtual node could ever hold `d` (the submission checks);
  /// `total`, if given, gets the live nodes' totals added up.
  bool fits_a_node(const resource_demand& d, resource_demand* total) const;
  /// The live nodes and their totals (CPUs under "CPU"), as a driver's
  /// registry sees its cluster when a group is created (bundle_layout.hpp).
  std::vector<layout_node> group_nodes() const;
  /// A new group: its bundles are reserved on virtual nodes, as the driver's
  /// cluster client reserves them (actors/cluster_bundles.cpp).
  void place_group(const placement_ptr& pg);
  /// `pg` was removed: its bundles are given back (an event, as the
  /// registry calls this under its lock).
  void remove_group(const placement_ptr& pg);

private:
  /// What the runtime keeps per thread and a run changes: swapped with
  /// each switch between the driver's stack and a run's fiber.
  struct thread_view {
    task_context task;
    actor_core* actor = nullptr;
    const actor_call* call = nullptr;
  };
  struct run_fiber;
  /// Tells the world that an object a suspended run waits for was sealed.
  struct wake_waiter final : waiter {
    world* w = nullptr;
    uint64_t token = 0;
    void on_ready() noexcept override { w->woken_.push_back(token); }
  };
  /// One run's fiber, and what it waits for while suspended.
  struct run_fiber {
    rec_ptr rec;
    std::unique_ptr<fiber> f;
    thread_view view;
    std::function<bool()> wait;
    std::optional<vtime> deadline;
    /// While suspended: its key in `parked_`, the objects it registered a
    /// waiter on, whether it is checked after every event.
    uint64_t token = 0;
    std::vector<object_slot*> watched;
    wake_waiter waker;
    bool poll = false;
    std::list<std::unique_ptr<run_fiber>>::iterator pos;
    /// Thread CPU time its code used in earlier slices, and when (on the
    /// thread CPU clock) the current slice began (sim_cost::measured).
    vtime cpu{0};
    vtime slice_start{0};
    /// The call it runs now is measured from `call_cpu` on.
    bool call_measured = false;
    vtime call_cpu{0};
  };
  /// Takes a suspended run out of `suspended_` (its waiters off its objects).
  std::unique_ptr<run_fiber> unpark(run_fiber& rf);
  /// Puts a run that yielded into `suspended_`.
  void park(std::unique_ptr<run_fiber> rf);

  static thread_view save_view();
  static void restore_view(const thread_view& v);
  /// Switches to `rf` until it yields or ends.
  void resume(run_fiber& rf);
  /// Resumes every suspended run that may continue (repeatedly: one may
  /// unblock another); in suspension order, so deterministic.
  void resume_ready();
  /// The body of a run's fiber: the task's code, then what follows it.
  void run_body(const rec_ptr& r);

  void place_ready();
  /// Places `q` if a node fits; false leaves it queued.
  bool try_place(queued& q);
  /// A task: where the cluster's rule (node_choice.hpp) puts it, as it
  /// would be submitted from the current node, or by its owner (a retry of
  /// one lost with its node) (sim_placement.cpp).
  bool place_task(queued& q);
  /// An actor's constructor: where the cluster's rule (actor_choice.hpp)
  /// puts it, as created on `from`; false leaves it queued.
  bool place_actor(queued& q, const actor_job& job);
  /// Gives back what `core`'s instance holds (`holds_`), if its node still
  /// has it.
  void release_hold(const void* core);
  /// A rebuild: on a worker, by the cluster's rule, as the driver places it.
  bool place_rebuild(queued& q);
  /// Node `n` as a task of `need` CPUs (and `custom` resources) submitted
  /// on `from` sees it.
  node_view view_of(uint32_t n, uint32_t from, double need) const;
  node_view view_of(uint32_t n, uint32_t from, double need, const resource_map& custom) const;
  /// Whether node `n`'s custom resources (its free ones, or its totals)
  /// hold `d` (an empty `d` always fits).
  bool custom_fits(uint32_t n, const resource_map& d, bool free) const;
  /// Takes (`sign` -1) or gives back (1) custom resources `d` on node `n`;
  /// a name the node lost meanwhile (a removed bundle's) is not given back.
  void take_custom(uint32_t n, const resource_map& d, double sign);
  /// `q` cannot be placed now but should not hold back the queue (its
  /// group is not reserved, or the custom resources it asks for are busy):
  /// it waits apart until `requeue_held` puts it back in front.
  void hold(queued& q);
  void requeue_held();
  /// An actor's constructor in a placement group: on its bundle's node.
  bool place_group_actor(queued& q, const actor_job& job);
  /// The virtual nodes' side of group reservations (sim_groups.cpp): the
  /// owner's steps are the driver's own (`groups_`, bundle_reservations.hpp);
  /// its messages are events with the network's delays, its timer virtual.
  class group_port;
  static std::unique_ptr<bundle_reservations::port> make_group_port(world& w);
  /// Resources were freed: a group that found no room is tried again (a
  /// retry timer runs only while one may succeed, so that a driver waiting
  /// for nothing else is still told of its deadlock).
  void wake_groups() { groups_.resources_freed(); }
  /// The cluster noticed `node`'s death: the bundles it held are placed
  /// again (the registry's RESCHEDULING), as `groups_node_lost` does.
  void groups_node_lost(uint32_t node, const std::string& why);
  /// Starts `r` on `node`, its spec sent from `from`.
  void start(const rec_ptr& r, uint32_t node, uint32_t from);
  void arrive(const rec_ptr& r);
  void run_code(const rec_ptr& r);
  /// Ends `r`'s stay on its node (gives back its CPUs on a live node).
  void retire(const rec_ptr& r);
  /// A run that ended with its node: retried or failed as the driver's
  /// rule says (node_loss.hpp: `max_retries`, `max_node_failures`).
  void lose(const rec_ptr& r, const std::string& why);
  /// Wakes the suspended runs of `node` (it died).
  void wake_node(uint32_t node);
  // -- lost objects and their rebuilds (sim_lineage.cpp) --

  /// Notes `slot` as a result held on the node that made it, with its task.
  void note_held(const object_slot& slot);
  /// After a run that sealed a held result: its task keeps a fresh result
  /// slot of its own, so that its lineage does not keep the object alive.
  void detach_lineage(task_spec& t);
  /// Whether `h`'s node died (noticed or not) with no copy left.
  bool lost(const held_result& h) const;
  /// A read of `slot` on node 0 (the driver's `get`) or in a run: if it is
  /// lost, rebuilds it and waits (throws object_lost_error if it cannot be
  /// rebuilt); false if `deadline` passes first.
  bool recover(object_slot* slot, std::optional<vtime> deadline);
  /// `q` is a task, or a rebuild whose lineage keeps its arguments, with a
  /// lost object argument: it waits for the argument's rebuild out of the
  /// queue (or fails); false if it has none.
  bool wait_for_lost_argument(queued& q);
  /// Fails task `q` (or, for a rebuild, the read it serves) whose argument
  /// `k` (from 0) could not be rebuilt, saying why.
  void lost_argument_failed(queued& q, size_t k, const std::string& failure);
  /// Null if `slot` is not lost; else its rebuild under way, or a new one,
  /// started once the death of its node is noticed.
  std::shared_ptr<rebuild_op> rebuild_of(const object_slot* slot);
  /// Queues `op`'s run, or fails it, as the rule says (object_loss.hpp).
  void start_rebuild(const std::shared_ptr<rebuild_op>& op);
  /// A rebuild's run ended: rebuilt on `node`, or failed with `failure`.
  void rebuild_over(const std::shared_ptr<rebuild_op>& op, uint32_t node, std::string failure);
  /// A rebuild's run was lost with its node: another one while allowed.
  void rebuild_lost(const rec_ptr& r);
  /// The body of a rebuild's fiber: the task's code, its result dropped.
  void rebuild_body(const rec_ptr& r);
  /// The first of `r`'s object arguments that is lost, as a read of it
  /// says; empty if none.
  std::string lost_argument(const run_rec& r);
  /// `slot` was read onto `node` as a task's argument: a copy there.
  void copied(const object_slot* slot, uint32_t node);

  /// Fails `t` with node_died_error saying `why`.
  static void fail(task_spec& t, const std::string& why);
  void apply(const sim_fault& f);
  /// Node `node` goes down: its runs are lost (their code unwinds at its
  /// next wait), its CPUs leave the cluster.
  void down(uint32_t node);
  /// `connection_timeout` after a partition cut `node` off from the
  /// driver's node: if no heal came meanwhile, the driver declares it dead
  /// now, as a cluster's driver does when a connection stays silent.
  void connection_timed_out(uint32_t node, uint64_t heals);
  /// The driver's try to connect again to `node`, which the connection
  /// timeout declared dead (cluster/reconnect_rule.hpp): back if node 0
  /// reaches it now, else the try fails `reconnect_timeout` later and the
  /// next one follows the rule's backoff, until its window has passed.
  /// `since`: the loss the try is for (a later loss starts a loop of its own).
  void reconnect_try(uint32_t node, vtime since);
  /// Adds the partitions and slow spells drawn from the seed.
  void draw_faults();
  /// The cluster notices that `node` is gone (`why`: "died", or how).
  void detect(uint32_t node, const std::string& why = "died");
  vtime delay(uint32_t from, uint32_t to, bool& lost);
  /// Whether one message is lost (`loss`), drawn from the "network" stream.
  bool draw_loss();
  /// One message's jitter (exponential, mean `jitter`), drawn likewise.
  vtime draw_jitter();
  bool reachable(uint32_t a, uint32_t b) const noexcept;
  /// The run's virtual duration before its code runs (0 for a measured
  /// one, which it marks).
  vtime duration_of(run_rec& r);
  /// The CPU time `rf` used so far (measured runs only).
  vtime cpu_used(const run_fiber& rf) const;
  /// Lets virtual time pass for measured CPU time `used` (rounded to the
  /// quantum, times the node's slow factor).
  void charge_measured(vtime used);
  /// When object `p` reaches node `to` if sent once it is `ready` to go
  /// (`produced_mtx_` held): sent once per node (a later read there finds
  /// the copy). With a bandwidth, a crossing holds the sender's outgoing and
  /// the receiver's incoming link for bytes / bandwidth, after the crossings
  /// already booked on either (first come, first served), then takes the
  /// latency; without one it takes the latency alone.
  vtime crossing(produced& p, uint32_t to, vtime ready);
  /// When the sealed objects among `slots` can be read on `node`; `cut`:
  /// one lies across a partition (then it waits for the heal).
  vtime readable_at(std::span<object_slot* const> slots, uint32_t node, bool& cut);
  /// Waits (virtual time) until the objects a wait watched have crossed to
  /// the waiting node; false if `deadline` passes first.
  /// `read`: a `get` of them (a lost object is rebuilt first).
  bool fetch(std::span<object_slot* const> watch, std::optional<vtime> deadline, bool read);
  /// Sends `r`'s spec (or actor job) from `from` to its node, with its
  /// object arguments' transfer; a lost one is sent again.
  void send(const rec_ptr& r, uint32_t from);
  /// How long after `spec_arrives` the last of `r`'s object arguments made
  /// on other nodes reaches its node; `cut`: one lies across a partition
  /// (then none is sent yet).
  vtime arg_fetch_time(const run_rec& r, vtime spec_arrives, bool& cut);
  /// `r`'s spec arrived and an argument lay across a partition: fetches
  /// once none does (asking again every `resend_after`), then `arrive`.
  void fetch_args(const rec_ptr& r);
  static uint64_t id_of(const task_spec& t) noexcept;
  std::string node_name(uint32_t n) const { return "sim-node-" + std::to_string(n); }

  simulation_options opts_;
  engine eng_;
  std::vector<node_state> nodes_;
  /// Runs placed on each node and not over.
  std::vector<std::list<rec_ptr>> runs_;
  /// Runs whose node died, handled when the death is noticed.
  std::vector<std::vector<rec_ptr>> doomed_;
  /// The losses of nodes (node, its epoch after the loss) under each task
  /// lost so far, by its id (unique in a run), until it ends (its
  /// `max_node_failures`); the losses that were cut connections, the node
  /// coming back when the driver connects again (they do not count, as on a
  /// cluster).
  std::unordered_map<uint64_t, std::vector<std::pair<uint32_t, uint64_t>>> node_failures_;
  std::set<std::pair<uint32_t, uint64_t>> cut_losses_;
  vtime connection_timeout_{0};
  /// Heals so far.
  uint64_t heals_ = 0;
  /// The nodes the connection timeout declared dead, which the driver
  /// tries to connect to again: since when, and how many tries so far.
  struct reconnecting {
    vtime since{0};
    int attempts = 0;
  };
  std::map<uint32_t, reconnecting> reconnecting_;
  std::deque<queued> ready_;
  /// Results held on the nodes that made them, by slot (under
  /// `produced_mtx_`), and the rebuilds waiting for their node's death to
  /// be noticed, with that node.
  std::unordered_map<const object_slot*, held_result> held_;
  std::vector<std::pair<uint32_t, std::shared_ptr<rebuild_op>>> undetected_;
  /// Each node's SPREAD turn (its cluster client's `placed_tasks::choose`), and the
  /// views a placement builds (kept to reuse their memory).
  std::vector<uint32_t> spread_last_;
  std::vector<node_view> views_;
  /// The node of each actor's current instance (by its core).
  std::unordered_map<const void*, uint32_t> actor_node_;
  /// Where each actor was created and stays, or `elsewhere` (decided once,
  /// at its first placement), by its core; the creations' SPREAD turns
  /// and the last node SPREAD chose (the driver's `remote_actors::choose`).
  static constexpr uint32_t elsewhere = ~uint32_t{0};
  std::unordered_map<const void*, uint32_t> actor_home_;
  std::unordered_map<const void*, actor_hold> holds_;
  /// Constructors held apart until an actor's or a run's CPUs are given back.
  size_t actors_apart_ = 0;
  size_t spread_turn_ = 0;
  uint32_t actor_spread_last_ = 0;
  /// Which side of the partition each node is on (0: none).
  std::vector<uint32_t> side_;
  std::unordered_map<std::string, cost_rule> costs_;
  /// Whether a run may be measured (the CPU clock is read around slices).
  bool measuring_ = false;
  uint64_t measured_runs_ = 0;
  /// Objects sealed in the simulation, by slot (destroyed slots leave from
  /// any thread, hence the lock).
  std::mutex produced_mtx_;
  std::unordered_map<const object_slot*, produced> produced_;
  /// Until when each node's outgoing and incoming links are booked by
  /// crossings (with a bandwidth; under `produced_mtx_`).
  std::vector<vtime> out_busy_;
  std::vector<vtime> in_busy_;
  /// The run whose fiber runs now (null: the driver's stack).
  run_fiber* current_ = nullptr;
  /// Runs suspended in a wait, in the order they suspended.
  std::list<std::unique_ptr<run_fiber>> suspended_;
  /// Suspended runs by token, and the tokens of those something woke
  /// (an object sealed, a deadline, a node death), in the order it happened.
  std::unordered_map<uint64_t, run_fiber*> parked_;
  std::vector<uint64_t> woken_;
  uint64_t next_token_ = 1;
  size_t polled_ = 0;
  /// Tasks waiting for arguments, by spec (their waiters live here).
  struct arg_wait;
  std::unordered_map<task_spec*, std::unique_ptr<arg_wait>> arg_waits_;
  /// Free CPUs of the live nodes together: no node fits a larger demand.
  double free_sum_ = 0;
  /// Each node's custom resources (`node_resources`, and the bundles of
  /// groups reserved there under their bundle names): empty while no node
  /// has any, so that a simulation without them pays nothing per node.
  struct node_custom {
    resource_map total;
    resource_map free;
  };
  std::vector<node_custom> custom_;
  /// Placement groups' reservations: the owner's steps, and the port
  /// through which they reach virtual nodes.
  std::unique_ptr<bundle_reservations::port> group_port_;
  bundle_reservations groups_;
  /// Tasks and actor constructors held out of the queue (`hold`), and
  /// whether something freed that they may wait for.
  std::deque<queued> apart_;
  bool apart_dirty_ = false;
  size_t depth_ = 0;
  uint64_t tasks_lost_ = 0;
  uint64_t actors_killed_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::FILE* trace_ = nullptr;
};

} // namespace manta::detail::sim
