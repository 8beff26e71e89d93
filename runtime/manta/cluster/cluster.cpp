#include "manta/cluster/cluster.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_client.hpp"
#include "actors/lane_door.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/core/backoff.hpp"
#include "manta/store/borrowers.hpp"
#include "manta/cluster/build_fingerprint.hpp"
#include "manta/cluster/code_loader.hpp"
#include "manta/core/codec.hpp"
#include "manta/core/caf_error_text.hpp"
#include "manta/net/data_path_tls.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/store/held_objects.hpp"
#include "manta/core/job_id.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/cluster/owner_where.hpp"
#include "manta/net/object_transfer.hpp"
#include "manta/core/runtime.hpp"
#include "manta/net/transport.hpp"
#include "manta/errors.hpp"
#include "manta/get.hpp"

#include <caf/all.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <tuple>
#include <unistd.h>

namespace manta::detail {

namespace {

/// The runtime's cluster link from the end of its `join` to its `leave`,
/// for code that holds no runtime (a remote object or actor handle dropped
/// on any thread, possibly after `shutdown`) and for this node's object
/// reads (`reader_tls`). A pointer to a part of the runtime, not state of
/// its own: `leave` clears it, so nothing of a runtime reaches the next.
/// It stays process-wide for the reason `runtime::live()` does, and needs
/// its lock beyond that pointer: a drop racing with `leave` sends through
/// the link while holding it, so the link cannot go meanwhile.
std::mutex g_link_mtx;
cluster* g_link = nullptr;

std::string join_error(const std::string& address, const std::string& what) {
  return "manta::init: cannot join the cluster at " + address + ": " + what;
}

} // namespace

std::pair<std::string, uint16_t> parse_address(const std::string& address) {
  auto bad = [&](const std::string& why) {
    return invalid_argument_error("manta: bad address '" + address + "': " + why
                                  + "; give HOST:PORT as printed by `manta start --head` "
                                    "(e.g. 127.0.0.1:6379), or auto for the head started "
                                    "on this machine");
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    throw bad("no ':' before a port");
  auto host = address.substr(0, colon);
  auto port_text = address.substr(colon + 1);
  if (host.empty())
    throw bad("no host before the ':'");
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'
          || c == ':' || c == '[' || c == ']'))
      throw bad(std::string{"the host contains '"} + c + "'");
  if (port_text.empty() || port_text.size() > 5
      || port_text.find_first_not_of("0123456789") != std::string::npos)
    throw bad("the port '" + port_text + "' is not a number");
  auto port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    throw bad("the port " + port_text + " is not in 1-65535");
  return {host, static_cast<uint16_t>(port)};
}

remote_object::~remote_object() {
  if (lender)
    borrowed_ref_gone(lender->owner, id.value());
  else
    cluster::free_remote(node.load(), id);
}

std::string fetch_remote_bytes(const remote_ptr& obj, wire::bytes& out) {
  if (obj->lender && obj->lender->bytes) { // a small value that came inside its ref
    out = *obj->lender->bytes;
    return {};
  }
  if (obj->lender) { // a borrowed ref's object: from the data path its ref named
    auto err = fetch_object({{obj->lender->host, obj->lender->port}}, runtime::cluster_token(),
                            obj->id.value(), obj->encoded_size.load(), out);
    // That holder may be gone: its owner knows where the bytes are now, or
    // rebuilds them.
    return err.empty() ? err : read_via_owner(*obj, err, out);
  }
  cluster* link = nullptr;
  {
    std::lock_guard<std::mutex> guard{g_link_mtx};
    link = g_link;
  }
  if (link == nullptr)
    return "the runtime left the cluster";
  return link->fetch(obj, out);
}

std::string fetch_remote(const remote_ptr& obj, const value_codec& codec,
                         std::shared_ptr<const void>& out) {
  wire::bytes bytes;
  if (auto err = fetch_remote_bytes(obj, bytes); !err.empty())
    return err;
  auto err = codec.decode(byte_chunks{std::span<const char>{bytes}}, bytes.size(), out);
  recycle_read_buffer(std::move(bytes)); // for the next large read (object_fetch.hpp)
  if (err)
    return "its bytes do not decode: " + error_text(err);
  return {};
}

cluster::cluster(caf::actor_system& sys, worker_pool& pool, role r, const std::string& address,
                 std::string token, double cpus, const resource_map& custom, std::string advertise,
                 std::string node_ip)
  : sys_(sys), pool_(pool), role_(r), address_(address), token_(std::move(token)), cpus_(cpus),
    custom_(custom), advertise_(std::move(advertise)), node_ip_(std::move(node_ip)) {
  auto [host, port] = parse_address(address);
  auto head = connect(sys_, host, port, connect_timeout);
  // A head that answers too late (a handshake stalled past the connection
  // timeout on a loaded machine) is asked again; a refusal is final.
  for (int attempt = 0; !head && timed_out(head.error()) && attempt + 1 < join_attempts;
       ++attempt) {
    std::this_thread::sleep_for(
      backoff_delay(std::chrono::milliseconds{200}, attempt, std::chrono::seconds{2}));
    head = connect(sys_, host, port, connect_timeout);
  }
  if (!head)
    throw error(join_error(address, connect_error(sys_, head.error(), host, port,
                                                  " (is the head running? start it with "
                                                  "`manta start --head`)")));
  head_ = std::move(*head);
  host_ = host;
}

cluster::~cluster() {
  leave();
}

uint16_t cluster::join(const caf::actor& node_manager) {
  wire::node_record me;
  me.host = node_ip_; // --node-ip-address (MANTA_NODE_IP), 127.0.0.1 by default
  me.pid = static_cast<uint32_t>(::getpid());
  me.cpus = cpus_;
  me.custom = custom_;
  me.driver = role_ == role::driver;
  me.build = advertised_build(); // the head compares it with the members'
  // A driver is a job; `manta job submit` registered this one with the head
  // already (the head accepts the id), else the head hands out one.
  if (role_ == role::driver)
    if (auto* job = std::getenv("MANTA_JOB_ID"))
      me.job_id = job;
  if (role_ == role::worker) {
    auto port = publish(sys_, node_manager, 0, me.host);
    if (!port)
      throw error("manta: cannot publish the node manager: " + sys_.render(port.error()));
    me.port = *port;
    listen_address_ = me.host + ":" + std::to_string(me.port);
  }
  // Every node serves the objects it holds: workers their stored results,
  // drivers the large arguments of the tasks they send. That raw data path
  // uses TLS, with the cluster's certificate, key and CA, when the cluster
  // does; this process's reads of objects then do too.
  {
    auto tls = data_path_tls::of(sys_);
    try {
      transfer_ = std::make_unique<transfer_server>(me.host, token_, &local_object_bytes, tls);
      me.data_port = transfer_->port();
    } catch (const std::exception& e) {
      throw error("manta: cannot start the object transfer server on " + me.host + ": " + e.what());
    }
    reader_tls_ = std::move(tls);
  }
  data_port_ = me.data_port;
  data_host_ = me.host;
  // Others reach the node manager where it is advertised (validated by
  // runtime::start); the raw data path keeps its own port on that host.
  if (role_ == role::worker && !advertise_.empty())
    std::tie(me.host, me.port) = parse_address(advertise_);
  if (role_ == role::worker)
    advertised_address_ = me.host + ":" + std::to_string(me.port);
  // The member the registry watches and tells about workers: the driver's
  // cluster client, or the worker's node manager.
  if (role_ == role::driver) {
    if (task_lane::enabled())
      lane_door_ = std::make_shared<actors::lane_door>();
    client_ = sys_.spawn(actors::cluster_client, this);
  }
  auto member = role_ == role::driver ? client_ : node_manager;
  caf::scoped_actor self{sys_};
  wire::cluster_view view;
  std::string failure;
  self->request(head_, connect_timeout, actors::join_atom::value, token_, wire::encode(me), member)
    .receive([&](const wire::bytes& bytes) { failure = wire::decode(bytes, view); },
             [&](caf::error& err) { failure = error_text(err); });
  if (!failure.empty())
    throw error("manta: joining the cluster failed: " + failure);
  index_ = view.your_index;
  me.job_id = view.your_job; // sent again when it joins a head again
  if (role_ == role::driver) {
    set_process_job(view.your_job);
    note_job(index_, view.your_job);
  }
  me_ = me;
  member_ = member;
  if (role_ == role::driver) {
    for (auto& rec : view.nodes)
      self->send(client_, actors::node_add_atom::value, token_, wire::encode(rec));
    self->request(client_, connect_timeout + std::chrono::seconds(1), actors::nodes_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  }
  std::lock_guard<std::mutex> guard{g_link_mtx};
  g_link = this;
  return index_;
}

std::string cluster::head_address() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return address_;
}

std::string cluster::find_head() {
  if (store_url_.empty())
    return head_address();
  try {
    auto where = stored_head_address(store_url_, store_timeout);
    std::lock_guard<std::mutex> guard{mtx_};
    if (!where.empty() && where != address_) {
      detail::log_line(log_level::info,
                       "manta: the head store says the head is at %s now (was %s)\n", where.c_str(),
                       address_.c_str());
      address_ = where;
    }
    store_failed_ = false;
    return address_;
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!store_failed_)
      detail::log_line(log_level::warning,
                       "manta: cannot read where the head is (%s); trying its last "
                       "address %s\n",
                       e.what(), address_.c_str());
    store_failed_ = true;
    return address_;
  }
}

std::string cluster::rejoin() {
  auto [host, port] = parse_address(find_head());
  auto head = connect(sys_, host, port, rejoin_timeout);
  if (!head)
    return connect_error(sys_, head.error(), host, port);
  auto me = me_;
  me.index = index_; // the same node, back
  caf::scoped_actor self{sys_};
  wire::cluster_view view;
  std::string failure;
  self->request(*head, rejoin_timeout, actors::join_atom::value, token_, wire::encode(me), member_)
    .receive([&](const wire::bytes& bytes) { failure = wire::decode(bytes, view); },
             [&](caf::error& err) { failure = error_text(err); });
  if (failure.empty() && view.your_index != index_)
    failure = "the head gave index " + std::to_string(view.your_index) + " instead of "
              + std::to_string(index_);
  if (failure.empty())
    head_ = std::move(*head);
  return failure;
}

void cluster::leave() {
  // A driver that shuts down tells the head its job FINISHED (one that is
  // killed is FAILED there when its connection closes; the supervisor of a
  // submitted job reports the exit either way). Bounded: a head that is
  // gone does not hold the shutdown.
  if (role_ == role::driver && head_ && !me_.job_id.empty()) {
    caf::scoped_actor self{sys_};
    self
      ->request(head_, std::chrono::milliseconds(500), actors::job_end_atom::value, token_,
                me_.job_id, std::string{"FINISHED"}, std::string{"the driver shut down"})
      .receive([](bool) {}, [](caf::error&) {});
  }
  {
    std::lock_guard<std::mutex> guard{g_link_mtx};
    if (g_link == this)
      g_link = nullptr;
  }
  if (client_) {
    caf::anon_send_exit(client_, caf::exit_reason::user_shutdown);
    client_ = nullptr;
  }
  head_ = nullptr;
  transfer_.reset();
}

void cluster::dispatch(task_ptr t) {
  // With the lane on, a lone plain task's spec goes on its worker's lane
  // from this thread, without waking the client first (lane_door.hpp).
  if (lane_door_ && lane_door_->submit(t, me_.job_id))
    return;
  caf::anon_send(client_, actors::dispatch_atom::value, std::move(t));
}

bool cluster::feasible(const resource_demand& d) const {
  return workers_->feasible(d);
}

resource_map cluster::worker_totals() const {
  return workers_->connected_totals();
}

void cluster::cancel_placed(object_id id, bool force, bool recursive) {
  // Through `client()` (under the link's lock), not `client_`: a cancel
  // may race with `stop`, which clears the link first and the client then.
  if (auto c = client())
    caf::anon_send(c, actors::cancel_atom::value, id.value(), force, recursive);
}

size_t cluster::num_workers() const {
  return workers_->num_connected();
}

std::string cluster::fetch(const remote_ptr& obj, wire::bytes& out) {
  auto promise = std::make_shared<fetch_promise>();
  auto future = promise->get_future();
  caf::anon_send(client_, actors::fetch_atom::value, obj, std::move(promise));
  // A `get` with a timeout bounds the fetch too; the fetch goes on in the
  // client (its answer is dropped) and a later read starts another. Without
  // one, the client bounds it: a silent node is cut off within the
  // connection timeout, and its objects are read elsewhere or rebuilt.
  auto deadline = read_deadline();
  if (deadline != clock::time_point::max()
      && future.wait_until(deadline) != std::future_status::ready)
    throw get_timeout_error("manta::get: timed out while fetching object " + to_string(obj->id)
                            + " (" + std::to_string(obj->encoded_size.load()) + " bytes) from node-"
                            + std::to_string(obj->node.load())
                            + "; raise the timeout, or check that node");
  try {
    auto [err, bytes] = future.get();
    out = std::move(bytes);
    return err;
  } catch (const std::future_error&) {
    return "the runtime shut down while fetching it";
  }
}

std::vector<wire::node_record> cluster::workers() const {
  return workers_->connected();
}

std::shared_ptr<data_path_tls> reader_tls() {
  std::lock_guard<std::mutex> guard{g_link_mtx};
  return g_link != nullptr ? g_link->reader_tls_ : nullptr;
}

caf::actor cluster::client() {
  std::lock_guard<std::mutex> guard{g_link_mtx};
  return g_link != nullptr ? g_link->client_ : caf::actor{};
}

void cluster::free_remote(uint16_t node, object_id id) {
  std::lock_guard<std::mutex> guard{g_link_mtx};
  if (g_link != nullptr && g_link->client_)
    caf::anon_send(g_link->client_, actors::free_atom::value, node, id.value());
}

} // namespace manta::detail
