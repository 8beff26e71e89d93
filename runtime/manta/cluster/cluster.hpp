#pragma once

#include "manta/cluster/remote_object.hpp"
#include "manta/cluster/worker_list.hpp"
#include "manta/core/runtime_dir.hpp"
#include "manta/sched/task_placer.hpp"
#include "manta/sched/task_spec.hpp"
#include "manta/net/wire.hpp"
#include "manta/resources.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace manta::actors {
class lane_door;
}

namespace manta::detail {

class worker_pool;
class transfer_server;
class data_path_tls;

/// "host:port" split; throws invalid_argument_error on bad input.
std::pair<std::string, uint16_t> parse_address(const std::string& address);

/// The process's link to a cluster (see docs/cluster.md). A *driver*
/// (init with an address) joins the head's registry, connects to every
/// worker node and places the tasks its own node is too busy for on them
/// through its cluster_client actor. A *worker* (the user's binary started
/// with --manta-worker) publishes its node_manager and joins the registry;
/// other nodes' tasks then arrive there. A driver's link is the door the
/// scheduler places tasks through (sched/task_placer.hpp).
class cluster final : public task_placer {
public:
  enum class role { driver, worker };

  /// `advertise` (workers; "" for none): the "HOST:PORT" published to the
  /// cluster instead of where the node manager listens (a proxy in front).
  /// `node_ip`: where this process listens (a worker's node manager, every
  /// node's data path) and what it tells the cluster (--node-ip-address,
  /// checked by the caller).
  cluster(caf::actor_system& sys, worker_pool& pool, role r, const std::string& address,
          std::string token, double cpus, const resource_map& custom, std::string advertise = "",
          std::string node_ip = "127.0.0.1");
  ~cluster();

  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// Joins the cluster; returns this node's index. Drivers wait (up to
  /// `connect_timeout`) until they are connected to the workers alive now.
  uint16_t join(const caf::actor& node_manager);

  /// Stops the client actor (drivers); called before the actor system goes.
  void leave();

  role kind() const noexcept { return role_; }
  /// The cluster token every message between nodes carries.
  const std::string& token() const noexcept { return token_; }
  uint16_t index() const noexcept { return index_; }
  /// Where this node serves the objects it holds (object_transfer.hpp).
  uint16_t data_port() const noexcept { return data_port_; }
  const std::string& data_host() const noexcept { return data_host_; }
  /// The head's registry as first joined (a worker's after `rejoin`).
  const caf::actor& head() const noexcept { return head_; }
  /// The head's "HOST:PORT": as given, or where the head store last said
  /// the head is (`find_head`).
  std::string head_address() const;

  /// With a head store (`follow_store`): reads where the head is now (the
  /// store's manta:head, at most `store_timeout`) and keeps it as
  /// `head_address`; a store that cannot be read leaves the last known
  /// address (the failure logged once). Returns `head_address()`.
  std::string find_head();

  /// Follow the head through the store at `url` (init_options::head_store;
  /// checked by the caller).
  void follow_store(std::string url) { store_url_ = std::move(url); }

  static constexpr std::chrono::milliseconds store_timeout{500};
  /// What this node told the head when it joined (set by `join`).
  const wire::node_record& joined_as() const noexcept { return me_; }
  /// Workers: where the node manager listens, and the address the cluster
  /// was told ("HOST:PORT"; the same unless an advertised address was given).
  const std::string& listen_address() const noexcept { return listen_address_; }
  const std::string& advertised_address() const noexcept { return advertised_address_; }

  /// Driver: places a task the local node cannot take right now.
  void dispatch(task_ptr t) override;

  /// Whether some worker offers `d` in total (worker_list::feasible).
  bool feasible(const resource_demand& d) const override;

  /// Total resources of the live workers this driver is connected to.
  resource_map worker_totals() const override;

  /// Driver: tells the cluster client, which knows where task `id` went,
  /// if anywhere, to cancel it there.
  void cancel_placed(object_id id, bool force, bool recursive) override;

  /// The live workers this driver is connected to (state API).
  std::vector<wire::node_record> workers() const;

  /// Number of live workers this driver is connected to.
  size_t num_workers() const;

  /// Fetches a remote object's encoded bytes (blocking; see fetch_remote).
  std::string fetch(const remote_ptr& obj, wire::bytes& out);

  /// Driver: the workers it knows, kept by its cluster client (their
  /// only writer) and read here by other threads.
  const std::shared_ptr<detail::worker_list>& known_workers() const noexcept { return workers_; }
  worker_pool& pool() noexcept { return pool_; }

  /// The driver's cluster client while this process is in a cluster as a
  /// driver; null otherwise.
  static caf::actor client();

  /// A driver's way for a submitting thread onto a task lane, with the
  /// lane on (actors/lane_door.hpp); null otherwise.
  const std::shared_ptr<actors::lane_door>& lane_door() const noexcept { return lane_door_; }

  /// Tells the node holding a dropped remote object to free it (called by
  /// ~remote_object; a no-op once the process left the cluster).
  static void free_remote(uint16_t node, object_id id);

  /// Workers: joins the head at the address this node first joined, again
  /// and under the same index, after the connection to it closed (a cut or
  /// silent link, or a head restarted on its port with the cluster's
  /// token). Returns "" once the head took the node back (`head()` is then
  /// the new handle; call from the thread that reads it), else why not.
  std::string rejoin();

  static constexpr std::chrono::seconds connect_timeout{10};
  /// How often a join asks a head that did not answer in time.
  static constexpr int join_attempts = 3;

  /// How long a worker that lost the head keeps trying to join it again,
  /// serving the drivers connected to it meanwhile, before it leaves.
  static constexpr std::chrono::seconds rejoin_window{30};
  /// The bound of one try of `rejoin`.
  static constexpr std::chrono::seconds rejoin_timeout{2};

private:
  caf::actor_system& sys_;
  worker_pool& pool_;
  role role_;
  std::string address_; ///< the head's, as given or as the store said (mtx_)
  std::string store_url_;
  bool store_failed_ = false; ///< logged once per outage
  std::string host_;
  std::string token_;
  /// What this node told the head when it joined, and the actor the head
  /// watches (for `rejoin`).
  wire::node_record me_;
  caf::actor member_;
  double cpus_;
  resource_map custom_;
  uint16_t index_ = 0;
  uint16_t data_port_ = 0;
  std::string data_host_;
  std::string advertise_;
  std::string node_ip_;
  std::string listen_address_;
  std::string advertised_address_;
  caf::actor head_;
  caf::actor client_;
  /// `lane_door()`: made before the client, set once.
  std::shared_ptr<actors::lane_door> lane_door_;
  mutable std::mutex mtx_;
  std::shared_ptr<detail::worker_list> workers_ = std::make_shared<detail::worker_list>();
  /// Workers: serves the bytes of held objects (object_transfer.hpp).
  std::unique_ptr<transfer_server> transfer_;
  /// The TLS this node's reads of other nodes' objects use: the data
  /// path's, made from its actor system's TLS at `join` (null for plain
  /// TCP). Set once before the link is published; read through
  /// `reader_tls()` (object_fetch.hpp) while the link is in the cluster, so
  /// a second runtime never reads with the first's identity.
  std::shared_ptr<data_path_tls> reader_tls_;

  friend std::shared_ptr<data_path_tls> reader_tls();
};

} // namespace manta::detail
