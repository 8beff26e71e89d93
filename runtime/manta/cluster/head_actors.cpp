#include "manta/actor/head_actors.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/cluster/remote_actor.hpp"
#include "manta/core/runtime.hpp"

#include <caf/all.hpp>

#include <future>
#include <utility>

namespace manta::detail {

std::optional<head_actor_answer> ask_head_for_actor(const std::string& ns, const std::string& name,
                                                    std::chrono::milliseconds timeout) {
  auto* rt = runtime::current();
  auto* link = rt == nullptr ? nullptr : rt->cluster_link();
  auto client = cluster::client();
  if (link == nullptr || link->kind() != cluster::role::driver || !client)
    return std::nullopt;
  auto req = std::make_shared<named_actor_request>();
  req->ns = ns;
  req->name = name;
  auto future = req->done.get_future();
  caf::anon_send(client, actors::actor_find_atom::value, req);
  head_actor_answer out;
  if (future.wait_for(timeout) != std::future_status::ready)
    return out;
  out.answered = true;
  auto [record, why] = future.get();
  if (!why.empty()) {
    out.why = std::move(why);
    return out;
  }
  auto found = decode_actor("the head's named-actor record", record);
  out.cls = std::move(found.cls);
  out.node = found.node;
  out.actor_id = found.actor_id;
  return out;
}

void kill_head_actor(const std::string& ns, const std::string& name, uint16_t node, uint64_t id) {
  if (auto client = cluster::client()) {
    auto req = std::make_shared<named_actor_request>();
    req->ns = ns;
    req->name = name;
    req->node = node;
    req->id = id;
    req->kill = true;
    caf::anon_send(client, actors::actor_find_atom::value, std::move(req));
  }
}

void keep_detached_actors() {
  if (auto client = cluster::client()) {
    auto req = std::make_shared<named_actor_request>();
    req->leaving = true;
    caf::anon_send(client, actors::actor_find_atom::value, std::move(req));
  }
}

} // namespace manta::detail
