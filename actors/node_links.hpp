#pragma once

#include "manta/cluster/worker_list.hpp"
#include "manta/net/wire.hpp"
#include "manta/resources.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/response_promise.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace manta::actors {

/// A worker node as the driver sees it.
struct remote_node {
  /// Made on its record in the driver's worker list (`node_links`' list).
  explicit remote_node(const detail::wire::node_record& rec) : info(rec), custom(rec.custom) {}
  /// Its record in the worker list: address, resources, data port.
  const detail::wire::node_record& info;
  /// Its custom resources as placement here counts them: those it announced
  /// and the bundles of this driver's placement groups committed there
  /// (cluster_bundles.cpp), which the state API does not list as the node's.
  resource_map custom;
  caf::actor manager; ///< its node_manager (a proxy); null until connected
  /// When it last answered a heartbeat (or was connected).
  std::chrono::steady_clock::time_point last_heard;
  double busy_cpus = 0;
  resource_map busy_custom;
  /// This driver's tasks it said queue there for resources and have not
  /// started (oldest id first): what an idle node may steal.
  std::set<uint64_t> queued;
  /// A steal request to it is unanswered (one at a time per node).
  bool stealing = false;
};

/// A worker whose connection closed while the head still lists it: a cut
/// connection looks like a dead node to CAF, so its work went elsewhere;
/// the driver connects to it again until it answers or the head says it
/// left (see "Failure handling" in docs/cluster.md).
struct lost_connection {
  const detail::wire::node_record& info; ///< its record in the worker list
  std::chrono::steady_clock::time_point since;
  int attempts = 0;
};

/// The driver's links to its workers: those being connected or connected
/// (`remote_node`, by index and by their node manager's address), those
/// whose connection closed and are being connected again, those the head
/// said left that are being cut off, the id of each worker's last loss
/// (and which losses were cut connections, not deaths), and the join
/// requests waiting for the first connections. It keeps the driver's one
/// worker list (shared with the cluster link, which other threads read) in
/// step with these tables: a worker is in it while either table refers to
/// it, in the state its link is in. Owned by the cluster client; the steps
/// that connect, ping, cut off and reconnect (worker_links.cpp) call it.
class node_links {
public:
  /// The clock of connection times, losses and reconnects.
  using clock = std::chrono::steady_clock;
  /// The workers being connected or connected, by index.
  using node_map = std::map<uint16_t, remote_node>;

  /// The worker list this driver's cluster link shares (this is its only
  /// writer).
  void use(std::shared_ptr<detail::worker_list> workers);

  // -- workers being connected or connected ------------------------------------

  /// Worker `index`, being connected or connected; null if neither.
  remote_node* find(uint16_t index);
  const remote_node* find(uint16_t index) const;

  /// Worker `index` if it is connected (its manager known), else null: the
  /// only ones messages go to.
  remote_node* connected(uint16_t index);

  /// Worker `index`, which must be being connected or connected.
  remote_node& at(uint16_t index);

  /// The connected worker whose node manager is `addr` (a message's
  /// sender, a down message's source), if any: what an unknown or lost
  /// node says does not count.
  std::optional<uint16_t> by_address(const caf::actor_addr& addr) const;

  /// The workers being connected or connected, by index (not those being
  /// reconnected): placement, pings and stealing go over them.
  node_map::iterator begin() { return nodes_.begin(); }
  node_map::iterator end() { return nodes_.end(); }
  node_map::const_iterator begin() const { return nodes_.begin(); }
  node_map::const_iterator end() const { return nodes_.end(); }

  // -- connecting ---------------------------------------------------------------

  /// Starts connecting to worker `rec.index` the head announced: known as
  /// connecting, and counted until `connect_finished`.
  void start_connecting(const detail::wire::node_record& rec);

  /// Worker `index` (being connected or reconnected) answered at `now`:
  /// `manager` is its node manager, found by its address from now on. A
  /// worker lost before and back now was cut off, not dead: its last loss
  /// counts as a cut (`was_cut`).
  void attached(uint16_t index, caf::actor manager, clock::time_point now);

  /// Worker `index`'s connection opened without its node manager: it is
  /// forgotten (and dropped from the worker list unless being reconnected).
  void not_connected(uint16_t index);

  /// The first connection to worker `rec.index` failed: known as
  /// reconnecting (the head lists it, and a later try may work).
  void connect_failed(const detail::wire::node_record& rec, clock::time_point now);

  /// One of the connections `start_connecting` counted ended (opened or
  /// not): true when none is left, when the joins waiting are answered.
  bool connect_finished();

  /// Whether no connection `start_connecting` counted is under way: a join
  /// is answered at once.
  bool all_connected() const noexcept { return connecting_ == 0; }

  /// A join request answered when the connections under way end.
  void wait_ready(caf::response_promise rp);

  /// The join requests waiting, taken out (to be answered once
  /// `connect_finished` said none is left).
  std::vector<caf::response_promise> take_ready();

  // -- losses -------------------------------------------------------------------

  /// Worker `index` is lost (dead, cut off, or left): forgotten here (and
  /// from the worker list unless being reconnected). Returns the id of this
  /// loss, which the tasks placed there keep (`placed_task::node_losses`);
  /// 0 if it was not being connected or connected.
  uint64_t lose(uint16_t index);

  /// The id of worker `index`'s last loss, 0 if none is known (a task
  /// written to it through the lane door before that loss: lane_submit.cpp).
  uint64_t last_loss(uint16_t index) const {
    auto l = losses_.find(index);
    return l == losses_.end() ? 0 : l->second;
  }

  /// Whether loss `loss` was of a worker that came back (a cut connection,
  /// not a death): it counts against no task's `max_node_failures`.
  bool was_cut(uint64_t loss) const { return cut_losses_.count(loss) > 0; }

  /// Whether loss `loss` of worker `index` is not known yet to be a cut or
  /// a death: it is that worker's last loss and the driver still
  /// reconnects to it (until it is back, the head says it left, or the
  /// driver gives up).
  bool undecided(uint16_t index, uint64_t loss) const {
    auto l = losses_.find(index);
    return l != losses_.end() && l->second == loss && reconnecting_.count(index) > 0;
  }

  // -- reconnecting -------------------------------------------------------------

  /// Worker `rec.index`, whose connection closed or could not be opened,
  /// while the head lists it: known as reconnecting since `now` (in the
  /// worker list too), its attempts from zero.
  void start_reconnecting(const detail::wire::node_record& rec, clock::time_point now);

  /// Worker `index`'s reconnection (its record, since when, its attempts),
  /// if it is being reconnected; else null.
  lost_connection* reconnecting(uint16_t index);

  /// If worker `rec.index` is being reconnected, updates its record in the
  /// worker list (the head announced it again) and returns true: its
  /// reconnect loop connects it.
  bool update_reconnecting(const detail::wire::node_record& rec);

  /// Worker `index` (being reconnected) answered: it is being connected
  /// again, to be `attached`.
  void reconnected(uint16_t index);

  /// Ends worker `index`'s reconnection (the head said it left, or the
  /// driver gave up): dropped from the worker list unless connected.
  /// Returns whether it was being reconnected.
  bool stop_reconnecting(uint16_t index);

  /// Whether a worker being reconnected (`node`, or any if 0) offers `d`
  /// in total: work it could run waits for it instead of failing.
  bool reconnecting_fits(const detail::resource_demand& d, uint16_t node = 0) const;

  // -- cutting off --------------------------------------------------------------

  /// Worker `index` (connected: the head said it left) is being cut off:
  /// its node manager's down message ends the cut (`cut_by`).
  void start_cut(uint16_t index);

  /// Whether worker `index` is being cut off.
  bool cutting(uint16_t index) const { return cutting_.count(index) > 0; }

  /// If worker `rec.index` is being cut off, keeps `rec` (the head
  /// announced it again) to connect once the old connection is gone, and
  /// returns true: connecting sooner would get the old proxy.
  bool defer_while_cut(const detail::wire::node_record& rec);

  /// The worker being cut off whose node manager is `source`, if any.
  std::optional<uint16_t> cut_by(const caf::actor_addr& source) const;

  /// Ends worker `index`'s cut: the record the head announced meanwhile,
  /// to connect now, if any.
  std::optional<detail::wire::node_record> end_cut(uint16_t index);

private:
  /// Drops worker `index` from the worker list once neither table refers
  /// to it.
  void forget_if_gone(uint16_t index);

  std::shared_ptr<detail::worker_list> workers_;
  node_map nodes_;
  std::map<caf::actor_addr, uint16_t> by_addr_;
  /// Live workers whose connection closed, being connected again.
  std::map<uint16_t, lost_connection> reconnecting_;
  /// Workers being cut off: their node manager, and their record if the
  /// head announced them again meanwhile.
  std::map<uint16_t, std::pair<caf::actor_addr, std::optional<detail::wire::node_record>>> cutting_;
  /// Lost workers: the id of each one's last loss; a worker connected
  /// again moves it to `cut_losses_`.
  uint64_t next_loss_ = 0;
  std::map<uint16_t, uint64_t> losses_;
  std::set<uint64_t> cut_losses_;
  /// Connections under way that a join waits for, and the joins waiting.
  size_t connecting_ = 0;
  std::vector<caf::response_promise> ready_;
};

} // namespace manta::actors
