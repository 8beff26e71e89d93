#pragma once

#include "manta/cluster/outbox.hpp"
#include "manta/cluster/owner_book.hpp"
#include "actors/token_gate.hpp"
#include "manta/actor/actor_anchor.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/cluster/object_loss.hpp"
#include "manta/store/object_slot.hpp"
#include "manta/cluster/remote_actor.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/resources.hpp"
#include "actors/lane_direct_state.hpp"
#include "manta/net/shared_bytes.hpp"

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace manta::detail {
namespace task_lane {
class writer;
}
class log_shipper;
class start_log;
class worker_pool;
} // namespace manta::detail

namespace manta::actors {

/// Who answers a hosted task or call: the thread that ran it (a task's
/// `early_answer` claims it before the seal, a call's `early_call_answer`
/// after it) or the node manager (which claims it
/// when it ends the task, or drops it). Whoever claims first wins, so the
/// owner gets one answer and the hosted count loses the task once.
struct early_answer_state {
  enum phase : int { running, answered, ended };
  /// The owner's handle it went to: if the owner sent the task again over
  /// a new connection meanwhile, the node manager answers that one too.
  caf::actor owner;
  std::atomic<int> state{running};
  /// The task lane the task came on (null: it came over CAF): the answer
  /// goes back on it while it is open. Set again by the node manager when
  /// the owner sends the task again (a reconnect), read by the answering
  /// thread.
  std::atomic<std::shared_ptr<detail::task_lane::writer>> lane;
  /// Lane on only: held by the answering thread across its load of `lane`
  /// and its write there, and by the node manager when the owner sends the
  /// task again (`answer_again`), so that an answer written on a lane the
  /// owner lost meanwhile (its resend says so) goes again over CAF.
  std::mutex lane_mtx;
  /// The answer the thread wrote on the lane (its TaskResult, the value
  /// beside it), kept while the task is hosted; `lane_mtx` guards it.
  std::vector<char> lane_message;
  detail::wire::shared_bytes lane_beside;
  bool on_lane = false;

  /// Claims the task for its thread's answer.
  bool answer() noexcept {
    int expected = running;
    return state.compare_exchange_strong(expected, answered);
  }
  /// Claims the task for the node manager; false if its thread answered.
  bool end() noexcept {
    int expected = running;
    return state.compare_exchange_strong(expected, ended) || expected == ended;
  }
  bool was_answered() const noexcept { return state.load() == answered; }
};

/// Hosted tasks answered by the threads that ran them, which the node
/// manager has not ended yet: it ends them when it next handles a task
/// (`submit`), or at the latest `linger` after the first of them, so a
/// lone round trip does not wake it.
struct answered_tasks {
  static constexpr auto linger = std::chrono::milliseconds{20};
  std::mutex mtx;
  std::vector<uint64_t> ids;
  bool planned = false; ///< a `(done_atom)` is on its way
};

/// Tells the node manager that a task or call another node sent has
/// finished.
class remote_done_waiter final : public detail::waiter {
public:
  void on_ready() noexcept override;
  caf::actor manager;
  uint64_t id = 0;
  /// Set if its thread answered the owner (a task's before the seal, a
  /// call's by `answer_call`).
  std::shared_ptr<early_answer_state> early;
  /// A call's: its thread's answer, if it may give one (early_call_answer).
  std::function<void()> answer_call;
  std::shared_ptr<answered_tasks> answered;
};

/// Counts the tasks and calls a node hosts, for threads other than the node
/// manager's (`early_answer`): one lives in each `hosted_task`, so the
/// count is the size of `running` whatever erases from it, but for the
/// tasks answered early (their threads took them off the count then).
class hosted_counter {
public:
  hosted_counter() = default;
  hosted_counter(std::shared_ptr<std::atomic<size_t>> n, std::shared_ptr<early_answer_state> early)
    : n_(std::move(n)), early_(std::move(early)) {
    ++*n_;
  }
  hosted_counter(hosted_counter&& other) noexcept
    : n_(std::move(other.n_)), early_(std::move(other.early_)) {}
  hosted_counter& operator=(hosted_counter&& other) noexcept {
    if (this != &other) {
      release();
      n_ = std::move(other.n_);
      early_ = std::move(other.early_);
    }
    return *this;
  }
  ~hosted_counter() { release(); }

private:
  void release() noexcept {
    // An answered task left the count when its thread claimed it.
    if (n_ && (!early_ || early_->end()))
      --*n_;
    n_.reset();
    early_.reset();
  }

  std::shared_ptr<std::atomic<size_t>> n_;
  std::shared_ptr<early_answer_state> early_;
};

/// A task or actor call sent by another node, while it runs here.
struct hosted_task {
  caf::actor owner;
  /// Keeps the task or call alive until its result went back.
  std::shared_ptr<void> keep;
  detail::slot_ptr result;
  std::string name;
  /// True if the result holds encoded bytes already (a remote_task's).
  bool encoded = false;
  /// The hosted actor of a call (0 for a task).
  uint64_t actor = 0;
  std::unique_ptr<remote_done_waiter> waiter;
  /// The direct answer of a task or call, if the thread that ran it sent
  /// one.
  std::shared_ptr<early_answer_state> early;
  hosted_counter counted;
  /// Its id among those the lane's data path checks (lane on only).
  lane_id_mark lane_mark;

  hosted_task() = default;
  hosted_task(hosted_task&&) = default;
  hosted_task& operator=(hosted_task&&) = default;
  /// A task still running when the node manager goes (shutdown) must not
  /// call a freed waiter when it ends.
  ~hosted_task() {
    if (result && waiter)
      result->remove_waiter(waiter.get());
  }
};

/// An actor whose owner is on another node, hosted here.
struct hosted_actor {
  caf::actor owner;
  detail::anchor_ptr anchor;
  /// lifetime_detached(): kept when its owner's connection closes (the
  /// owner died or exited); only a kill ends it. Any driver may call it.
  bool detached = false;
};

/// A call through a handle another node lent this one, sent to that node
/// (the actor's home, an owner of this worker) and not answered yet.
struct forwarded_call {
  detail::call_request_ptr req;
  caf::actor_addr home;
};

/// The pins of the refs in a forwarded call's arguments after its home
/// answered, until the home's echo says its +1s for them went first.
struct answered_call_args {
  detail::contained_refs lent;
  caf::actor_addr home;
};

struct node_manager_state {
  detail::worker_pool* pool = nullptr;
  /// The cluster token: messages from other nodes must carry it, and
  /// messages to them do.
  std::string token;
  /// Drops messages with a wrong token and disconnects their senders.
  token_gate tokens;
  /// Tasks sent by owners on other nodes, by result id, until they finish.
  std::unordered_map<uint64_t, hosted_task> running;
  /// The size of `running` less the tasks answered early, for the threads
  /// that run the tasks.
  std::shared_ptr<std::atomic<size_t>> hosted = std::make_shared<std::atomic<size_t>>(0);
  /// Tasks answered early, not ended yet.
  std::shared_ptr<answered_tasks> answered = std::make_shared<answered_tasks>();
  /// Actors whose owners are on other nodes, by actor id.
  std::unordered_map<uint64_t, hosted_actor> actors;
  /// TaskResults on their way to owners (sent in batches).
  outbox results;
  /// The owners on other nodes this manager monitors, and the results it
  /// holds for each: swept when one is gone for good (owner_book.hpp).
  owner_book owners;
  /// Lines the hosted tasks print, on their way to the tasks' owners.
  std::shared_ptr<detail::log_shipper> logs;
  /// Hosted tasks that queued here and have started since (hosted_queue.hpp).
  std::shared_ptr<detail::start_log> starts;
  /// Hosted tasks that found no free resources, by owner, not yet told.
  std::map<caf::actor, std::vector<uint64_t>> queued_news;
  /// Calls through handles lent by an owner, on their way to it, by
  /// result id (forwarded_calls.cpp).
  std::unordered_map<uint64_t, forwarded_call> forwarded;
  /// Forwarded calls answered, whose arguments held refs, by result id,
  /// until their home's echo (`args_read_delta`) comes.
  std::unordered_map<uint64_t, answered_call_args> answered_args;
  /// Whether a report of queued and started tasks is planned.
  bool report_planned = false;
  /// The owners of the task lanes, by key (`lane_hello_atom`).
  std::unordered_map<uint64_t, caf::actor> lane_owners;
  /// Shared with the data path, which hosts lone lane specs itself (null
  /// with the lane off: lane_direct.hpp).
  std::shared_ptr<lane_direct> direct;

  static inline const char* name = "manta.node_manager";
};

using node_manager_actor = caf::stateful_actor<node_manager_state>;

/// Results up to this size travel back inside the TaskResult; larger ones
/// stay on the node that made them until the owner fetches or frees them
/// (object_loss.hpp: the simulator keeps results by the same rule).
using detail::inline_result_limit;

/// Largest chunk of an object one fetch request returns.
inline constexpr size_t max_chunk_bytes = 4 * 1024 * 1024;

/// The node's control-plane endpoint: answers what the node has and what is
/// free. Local tasks take their leases from the node's worker_pool directly
/// (a message round trip per task would cost more than most tasks). In a
/// cluster this actor is what the node publishes: owners on other nodes
/// send it TaskSpecs to run (in the worker pool, as tasks) and fetch the
/// large results it keeps, chunk by chunk. It also hosts actors that owners
/// on other nodes place here (ActorSpec): each is an ordinary local actor,
/// and TaskSpecs naming it are calls of its methods, queued in arrival
/// order. An owner whose connection closes loses its actors here.
/// Every message from another node carries the cluster token; one without
/// it is dropped, and its node disconnected and logged (a process that
/// never joined must not run code or read objects here). Lines the hosted tasks print go to their
/// owners in LogBatches while they run, each task's before its result.
caf::behavior node_manager(node_manager_actor* self, detail::worker_pool* pool, std::string token);

/// Monitors `owner` from its first message on (`id`: of what it sent,
/// naming its node), and takes it back if its connection had closed.
/// `job`: the owner's job id, as its message said (job_id.hpp).
void watch_owner(node_manager_actor* self, const caf::actor& owner, uint64_t id,
                 const std::string& job = {});

/// The connection to `owner` closed: its actors here are dropped now (but
/// the detached ones, which stay until killed), and the rest it left
/// (results, queued and running tasks) after a grace of the connection
/// timeout unless it comes back (owner_sweep.cpp).
void owner_closed(node_manager_actor* self, const caf::actor_addr& owner);

/// Drops a hosted actor (its owner killed it or let go of it, or is gone).
void drop_actor(node_manager_actor* self, uint64_t id);

/// A TaskSpec `spec` from the sender, an owner on another node: a task
/// queued in this node's pool, or a call queued in a hosted actor (or one
/// of this node's own whose handle it lent), tracked until its result is
/// sealed; refused with a failed result naming why if this node cannot run
/// it (hosted_submit.cpp).
void submit_hosted(node_manager_actor* self, const std::vector<char>& spec);

/// As above, from `owner`, who sent it on its task lane `lane_key` (0:
/// over CAF).
void submit_hosted(node_manager_actor* self, const std::vector<char>& spec, const caf::actor& owner,
                   uint64_t lane_key);

/// With the task lane on: hands the frames of the data path's lane
/// connections to this node manager (task_lane_host.cpp).
void serve_task_lanes(node_manager_actor* self);

/// The task lane with key `key` that `owner` opens next is its own.
void add_lane_owner(node_manager_actor* self, uint64_t key, const caf::actor& owner);

/// A frame of lane `key`: a spec hosted under the lane's owner, or a cancel.
void on_lane_frame(node_manager_actor* self, uint64_t key, uint32_t kind, uint64_t id,
                   uint64_t extra, std::vector<char>& payload);

/// Builds the actor of an ActorSpec `spec` from the sender, an owner on
/// another node, and answers it (hosted_actors.cpp).
void create_hosted_actor(node_manager_actor* self, const std::vector<char>& spec);

/// The grace of `owner_closed` passed: drops what the owner left unless
/// it came back.
void sweep_owner(node_manager_actor* self, const caf::actor_addr& owner, uint64_t ticket);

/// The owner of hosted task or call `id` cancelled it (remote_cancel.cpp):
/// queued, it is dropped unrun; running, `manta::cancelled()` turns true
/// there (an async method stops at its next co_await); the tasks it
/// submitted here go too unless `recursive` is false. Its result (the
/// cancellation) goes back as usual.
void cancel_hosted(node_manager_actor* self, uint64_t id, bool force, bool recursive);

/// Sends a call through a borrowed handle to the actor's home, an owner of
/// this worker (forwarded_calls.cpp); fails it with actor_died_error when
/// this node has no open link to that owner.
void forward_call(node_manager_actor* self, detail::call_request_ptr req);

/// TaskResults from an actor's home answering forwarded calls.
void forwarded_results(node_manager_actor* self, const std::vector<std::vector<char>>& results);

/// The home of forwarded call `id` echoed `args_read_delta`: its +1s for
/// the call's arguments came first, and the arguments' pins go.
void forwarded_args_read(node_manager_actor* self, uint64_t id);

/// The link to `home` closed: its forwarded calls fail with actor_died_error.
void forwarded_home_lost(node_manager_actor* self, const caf::actor_addr& home);

/// An owner on another node asks this node to take bundles of one of its
/// placement groups (a BundleReservation): empty if taken, else why not
/// (bundle_requests.cpp). The owner is watched, so that its bundles are
/// given back if it goes for good.
std::string prepare_bundles(node_manager_actor* self, const std::vector<char>& request);

/// The shipper of this node manager: wakes it to send lines to their
/// owners (hosted_logs.cpp).
std::shared_ptr<detail::log_shipper> make_shipper(node_manager_actor* self);

/// Sends every waiting line to the owner of the task that printed it, one
/// LogBatch per owner. Lines of tasks no longer hosted here are dropped.
void ship_logs(node_manager_actor* self);

} // namespace manta::actors
