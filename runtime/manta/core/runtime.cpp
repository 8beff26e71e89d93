#include "manta/placement/placement_groups.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/core/caf_config.hpp"
#include "manta/core/runtime.hpp"
#include "manta/placement/hosted_bundles.hpp"
#include "manta/retry_exceptions.hpp"

#include "actors/atoms.hpp"
#include "manta/dashboard/dashboard.hpp"
#include "actors/node_manager.hpp"
#include "actors/task_runner.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/actor/attached_actor.hpp"
#include "manta/actor/attached_actors.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/sched/stream_index.hpp"
#include "manta/core/known_jobs.hpp"
#include "manta/store/handle_loans.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/store/object_loans.hpp"
#include "manta/store/unread_results.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/observe/log_capture.hpp"
#include "manta/observe/log_store.hpp"
#include "manta/cluster/node_address.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/store/memory_monitor.hpp"
#include "manta/observe/series.hpp"
#include "manta/observe/task_recorder.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime_dir.hpp"
#include "manta/sim/sim_hooks.hpp"
#include "manta/cluster/remote_task.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/sched/task_error.hpp"
#include "manta/sched/task_placer.hpp"
#include "manta/net/transport.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace manta::detail {

namespace {

/// The process's runtime, published in two steps: `g_live` for the whole
/// life of the object (its parts are reached through it), `g_current` while
/// it takes calls (between the end of its construction and the start of its
/// shutdown).
std::atomic<runtime*> g_live{nullptr};
std::atomic<runtime*> g_current{nullptr};
std::mutex g_start_stop; // serializes start and stop
std::string g_node_name = "node-0";
std::string g_token;

/// How long `shutdown` lets running tasks finish before leaving them behind.
constexpr std::chrono::milliseconds shutdown_grace{250};

/// Whether `t` is another node's task (a remote_task), whose owner holds
/// its one retry budget and runs each of its attempts, wherever: then it
/// is marked retryable for the owner and not run again here. A local
/// retry on top of the owner's would multiply the two budgets.
bool leave_retry_to_owner(task_spec& t) {
  auto* remote = dynamic_cast<remote_task*>(&t);
  if (remote == nullptr)
    return false;
  remote->retryable.store(true, std::memory_order_release);
  return true;
}

/// A run the memory monitor stopped (whatever the task made of the
/// bad_alloc): run again while its retries last, as Ray retries tasks its
/// monitor killed, else failed with out_of_memory_error.
bool out_of_memory(const task_ptr& t, int attempts) {
  auto text = memory_monitor::stop_message(t->name(), runtime::node_name(), attempts);
  bool again = attempts <= t->opts.max_retries && !t->cancelled() && !t->args_released();
  bool owner = again && leave_retry_to_owner(*t);
  again = again && !owner;
  detail::log_line(log_level::warning, "manta: %s%s\n", text.c_str(),
                   again   ? "; retrying it (its max_retries allow it)"
                   : owner ? "; its owner runs it again while its max_retries allow it"
                           : "");
  auto failure = std::make_exception_ptr(out_of_memory_error(text));
  if (again) {
    task_events::on_run_end(*t, failure, true);
  } else {
    t->release_args();
    end_task(*t, task_state::failed, failure);
  }
  return again;
}

} // namespace

/// Runs one granted task on a pool thread (or, in a simulation, on the
/// simulation's thread). Returns true to run it again. A task that will
/// not run again lets go of its arguments before its result or error is
/// sealed (task_spec::release_args); one that let go of them already (its
/// function returned, then sealing its result failed) is not run again.
bool execute_task(const task_ptr& t) {
  if (t->cancelled())
    return false; // its result was sealed by cancel
  auto& ctx = this_task();
  ctx.task = t.get();
  auto attempts = t->attempts.fetch_add(1, std::memory_order_relaxed) + 1;
  auto started = task_events::on_start(*t);
  memory_monitor::begin_run(attempts <= t->opts.max_retries, started);
  auto error = t->run();
  bool stopped = memory_monitor::end_run();
  log_capture::end_of_run();
  ctx.task = nullptr;
  if (!error) {
    task_events::on_run_end(*t, nullptr, false);
    return false;
  }
  if (sim_lost_run(error)) { // its virtual node died: the simulator decides
    task_events::on_run_end(*t, error, true);
    return true;
  }
  if (stopped && !is_runtime_error(error))
    return out_of_memory(t, attempts);
  if (attempts <= t->opts.max_retries && !t->cancelled() && !t->args_released()
      && retry_covers(t->opts.retry_exceptions, t->opts.retry_exception_types, error)
      && !leave_retry_to_owner(*t)) {
    task_events::on_run_end(*t, error, true);
    return true;
  }
  t->release_args();
  end_task(*t, to_task_error(error, t->name()));
  return false;
}

namespace {

/// Resolves "auto" to the address the local head wrote, after checking that
/// the runtime folder and the file are this user's alone (runtime_dir.hpp):
/// another user's planted address would send this driver to their cluster.
std::string resolve_address(const std::string& address) {
  if (address != "auto")
    return address;
  auto file = read_runtime_file("head.address");
  if (file.missing)
    throw error("manta::init: address 'auto' needs a head started on this machine "
                "(`manta start --head`), but "
                + file.error);
  if (!file.error.empty())
    throw error("manta::init: address 'auto': " + file.error);
  std::istringstream in{file.text};
  std::string out;
  in >> out;
  return out;
}

/// With a head store: where the store says the head is, which wins over
/// `given` (the latest head wrote it); `given` if the store names none or
/// cannot be read (said on stderr), else an error naming the store.
std::string head_from_store(const std::string& url, const std::string& given) {
  try {
    auto stored = stored_head_address(url, cluster::store_timeout);
    if (!stored.empty())
      return stored;
    if (given.empty())
      throw error("manta::init: the head store " + url
                  + " names no head yet; start one "
                    "with `manta start --head --head-store="
                  + url + "`, or give --address");
    return given;
  } catch (const head_store_error& e) {
    if (given.empty())
      throw error(std::string{"manta::init: "} + e.what());
    detail::log_line(log_level::warning, "manta: %s; joining the head at %s as given\n", e.what(),
                     given.c_str());
    return given;
  }
}

} // namespace

namespace {

std::string dashboard_address_file() {
  return runtime_dir() + "/dashboard.address";
}

/// Lets `manta list` and friends find the latest node started here without
/// being told its port (best effort: a read-only runtime dir is no error).
/// Not into a runtime folder that is not this user's alone.
void record_dashboard_address(const std::string& address) {
  if (make_private_dir(runtime_dir()).empty())
    write_private_file(dashboard_address_file(), address + "\n");
}

void forget_dashboard_address(const std::string& address) {
  std::istringstream in{read_runtime_file("dashboard.address").text};
  std::string recorded;
  if (in >> recorded && recorded == address)
    std::remove(dashboard_address_file().c_str());
}

} // namespace

runtime::runtime(const init_options& opts, bool worker)
  : events_(task_events::make_recorder(opts.task_events, opts.task_history)),
    task_logs_(std::make_unique<log_store>()), actors_(std::make_unique<actor_directory>()),
    placements_(std::make_unique<placement_registry>()),
    hosted_(std::make_unique<hosted_bundles>(*placements_)),
    lent_refs_(std::make_unique<object_loans>()), lent_handles_(std::make_unique<handle_loans>()),
    result_lends_(std::make_unique<unread_results>()),
    attached_(std::make_unique<attached_actors>()), jobs_(std::make_unique<known_jobs>()),
    streams_(std::make_unique<stream_index>()) {
  // From here on its parts are reached through live(); `start` clears it
  // again if this constructor throws.
  g_live.store(this, std::memory_order_release);
  auto hw = std::max(1u, std::thread::hardware_concurrency());
  total_cpus_ = opts.num_cpus.value_or(static_cast<double>(hw));
  if (!std::isfinite(total_cpus_) || total_cpus_ < 0)
    throw invalid_argument_error("manta::init: num_cpus must be a finite, "
                                 "non-negative number");
  for (auto& [name, amount] : opts.resources) {
    if (name == cpu_resource)
      throw invalid_argument_error(
        "manta::init: give CPUs with num_cpus, not as the custom resource \"CPU\"");
    if (!std::isfinite(amount) || amount < 0)
      throw invalid_argument_error("manta::init: resource '" + name
                                   + "' must be a finite, non-negative amount");
  }
  total_custom_ = opts.resources;
  if (opts.object_store_memory && *opts.object_store_memory == 0)
    throw invalid_argument_error("manta::init: object_store_memory must be at "
                                 "least one byte (it is the node's memory "
                                 "budget for objects)");
  if (!(opts.memory_usage_threshold > 0 && opts.memory_usage_threshold <= 1))
    throw invalid_argument_error(
      "manta::init: memory_usage_threshold (--memory-usage-threshold, "
      "MANTA_MEMORY_USAGE_THRESHOLD) must be a share of the memory limit in (0, 1], such "
      "as 0.95, got "
      + std::to_string(opts.memory_usage_threshold));
  store_.reset(
    object_store::make({opts.object_store_memory.value_or(memory_budget::default_limit()),
                        opts.object_spill_directory.value_or(""), opts.object_spilling}));
  // The scheduler runs only the runtime's own actors, a small share of the
  // work next to user code: half the cores (at most 4) serve it well.
  bool networked = opts.address.has_value() || opts.head_store.has_value();
  // Addresses and the token are checked before anything starts, so that a
  // typo is an error that says so rather than a connection failure.
  std::string address;
  g_token.clear();
  if (networked) {
    address = opts.address ? resolve_address(*opts.address) : std::string{};
    if (opts.head_store)
      address = head_from_store(*opts.head_store, address);
    parse_address(address);
    g_token = opts.token.value_or("");
    if (g_token.empty() && opts.address && *opts.address == "auto") {
      std::string err;
      g_token = read_token_file(default_token_file(), err);
      if (!err.empty())
        throw error("manta::init: address 'auto': " + err);
    }
    if (g_token.empty())
      throw invalid_argument_error("manta::init: joining the cluster at " + address
                                   + " needs the cluster token; " + token_hint());
    if (auto err = check_tls(opts.tls); !err.empty())
      throw invalid_argument_error("manta::init: " + err);
  }
  if (opts.advertise_address) {
    if (!worker)
      throw invalid_argument_error(
        "manta::init: --advertise-address (MANTA_ADVERTISE_ADDRESS) is for worker nodes "
        "(--manta-worker): only they are connected to by other nodes");
    try {
      parse_address(*opts.advertise_address);
    } catch (const invalid_argument_error&) {
      throw invalid_argument_error(
        "manta::init: --advertise-address expects HOST:PORT where other nodes reach this "
        "worker (e.g. a proxy's 127.0.0.1:7000), with a port in 1-65535, got '"
        + *opts.advertise_address + "'");
    }
  }
  // Where this process listens and what it tells the cluster; plain TCP
  // off loopback only on a network declared trusted.
  auto node_ip = opts.node_ip_address.value_or(default_node_ip);
  if (networked) {
    if (opts.node_ip_address)
      check_node_ip("--node-ip-address", node_ip);
    check_exposure(worker ? "manta worker" : "manta driver", node_ip, opts.tls,
                   opts.trusted_network);
  }
  config_ = make_caf_config(opts.scheduler_threads.value_or(std::clamp(hw / 2, 1u, 4u)), networked,
                            opts.tls, g_token, opts.connection_timeout);
  system_ = std::make_unique<caf::actor_system>(*config_);
  auto core_threads = static_cast<size_t>(std::clamp(total_cpus_, 1.0, double(hw)));
  pool_ = std::make_unique<worker_pool>(total_cpus_, total_custom_, core_threads, execute_task);
  memory_monitor_ = std::make_unique<memory_monitor>(
    memory_monitor::settings{opts.memory_usage_threshold, opts.memory_limit.value_or(0)});
  series_ = std::make_unique<series_recorder>();
  node_manager_ = system_->spawn(actors::node_manager, pool_.get(), g_token);
  if (networked) {
    try {
      cluster_ = std::make_unique<cluster>(
        *system_, *pool_, worker ? cluster::role::worker : cluster::role::driver, address, g_token,
        total_cpus_, total_custom_, opts.advertise_address.value_or(""), node_ip);
      if (opts.head_store)
        cluster_->follow_store(*opts.head_store);
      node_index_ = cluster_->join(node_manager_);
    } catch (...) {
      stop_all();
      throw;
    }
    g_node_name = "node-" + std::to_string(node_index_) + " (pid " + std::to_string(::getpid())
                  + ")";
  }
  if (opts.log_prefix)
    logs_ = std::make_unique<log_capture>();
  if (opts.dashboard_port) {
    try {
      // Off loopback it asks for the cluster's token (or, on a node of its
      // own, the one given).
      dashboard_ = std::make_unique<actors::dashboard>(
        opts.dashboard_host.value_or(actors::dashboard::default_host), *opts.dashboard_port,
        networked ? g_token : opts.token.value_or(""), actors::dashboard::default_asset_dir());
    } catch (...) {
      stop_all();
      throw;
    }
    detail::log_line(log_level::info, "manta: dashboard of %s at http://%s/\n", g_node_name.c_str(),
                     dashboard_->address().c_str());
    record_dashboard_address(dashboard_->address());
  }
}

uint16_t runtime::dashboard_port() const noexcept {
  return dashboard_ ? dashboard_->port() : 0;
}

std::string runtime::dashboard_address() const {
  return dashboard_ ? dashboard_->address() : std::string{};
}

runtime::~runtime() {
  stop_all();
}

void runtime::stop_all() {
  // Its samples read the state torn down below.
  series_.reset();
  // The dashboard reads the state the steps below tear down.
  if (dashboard_) {
    forget_dashboard_address(dashboard_->address());
    dashboard_.reset();
  }
  // Nothing is stopped for memory while the node shuts down.
  memory_monitor_.reset();
  // 0. Kill every actor: their queued calls fail with actor_died_error and
  //    their instances are destroyed while the pool still runs; detached
  //    actors on workers stay there (docs/cluster.md, "Jobs").
  keep_detached_actors();
  actors_->stop_all();
  placements_->clear();
  hosted_->clear();
  // The pins on what other nodes held go while the links and the data path
  // still run (their actors are stopped above); the parts go below.
  clear_lent();
  // Items waiting for a stream go now too: their pins and records tell
  // their nodes while the links run.
  item_stream::forget_far_items();
  // 1. Fail every object still pending: wakes gets blocked in user threads
  //    and in tasks, and lets task actors waiting for arguments finish.
  store_->table().for_each([](const slot_ptr& s) {
    if (!s->done())
      s->seal_error(std::make_exception_ptr(task_cancelled_error(
        "object " + to_string(s->id())
        + " will never be produced: the runtime shut down before its task ran")));
  });
  // 2. Reject the tasks queued for resources, let running tasks finish and
  //    leave behind those that do not finish in time.
  pool_->stop(shutdown_grace);
  // Leave the cluster: nothing is placed on other nodes any more.
  if (cluster_)
    cluster_->leave();
  // The store closes: its spill files go (refs still held to spilled
  // objects then fail with object_lost_error), its kept buffers go back to
  // the system and its results held for other nodes are dropped. Objects
  // still referenced keep it alive and drop into it later.
  store_->close();
  // 3. From here on nobody reaches this runtime through g_current.
  g_current.store(nullptr, std::memory_order_release);
  caf::anon_send_exit(node_manager_, caf::exit_reason::user_shutdown);
  node_manager_ = nullptr;
  system_.reset();
  cluster_.reset();
  logs_.reset();
  // 4. The parts go with the object (members, in the reverse order of
  //    their construction); nothing finds them any more. The recorder no
  //    longer takes the tasks of threads that did not record into it (a
  //    task left running past the grace ends nowhere visible).
  task_events::retire(*events_);
  g_live.store(nullptr, std::memory_order_release);
}

void runtime::store_release::operator()(object_store* store) const noexcept {
  store->release();
}

runtime& runtime::require(const char* what) {
  auto* rt = g_current.load(std::memory_order_acquire);
  if (rt == nullptr)
    throw not_initialized_error(std::string{"manta::"} + what
                                + ": the runtime is not running; call "
                                  "manta::init() first (and not after "
                                  "manta::shutdown())");
  return *rt;
}

runtime* runtime::current() noexcept {
  return g_current.load(std::memory_order_acquire);
}

runtime* runtime::live() noexcept {
  return g_live.load(std::memory_order_acquire);
}

runtime& runtime::here(const char* what) {
  auto* rt = g_live.load(std::memory_order_acquire);
  if (rt == nullptr)
    throw not_initialized_error(std::string{"manta: "} + what
                                + " needs the runtime, which is not running; call "
                                  "manta::init() first (and not after manta::shutdown())");
  return *rt;
}

task_placer* task_placer_of(runtime& rt) {
  // The scheduler's door (sched/task_placer.hpp): a driver's link places
  // tasks on the other nodes; a worker's runs its own tasks or none.
  auto* link = rt.cluster_link();
  return link != nullptr && link->kind() == cluster::role::driver ? link : nullptr;
}

const std::string& runtime::cluster_token() noexcept {
  return g_token;
}

const std::string& runtime::node_name() noexcept {
  return g_node_name;
}

void runtime::start(const init_options& opts, bool worker) {
  std::lock_guard<std::mutex> guard{g_start_stop};
  if (g_current.load() != nullptr)
    throw error("manta::init: the runtime is already running; call "
                "manta::shutdown() before initializing it again");
  g_node_name = "node-0 (pid " + std::to_string(::getpid()) + ")";
  runtime* rt = nullptr;
  try {
    rt = new runtime(opts, worker);
  } catch (...) {
    g_live.store(nullptr, std::memory_order_release);
    throw;
  }
  g_current.store(rt, std::memory_order_release);
  // Only now may the node manager run what other nodes send (node_manager.cpp).
  caf::anon_send(rt->node_manager_, actors::serve_atom::value);
}

void runtime::stop() {
  std::lock_guard<std::mutex> guard{g_start_stop};
  auto* rt = g_current.load();
  if (rt == nullptr)
    return;
  // stop_all clears g_current once no thread can be inside the runtime.
  delete rt;
}

} // namespace manta::detail
