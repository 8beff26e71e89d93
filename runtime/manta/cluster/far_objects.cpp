#include "manta/store/far_objects.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/cluster/remote_object.hpp"
#include "manta/core/codec.hpp"
#include "manta/core/runtime.hpp"
#include "manta/store/borrowers.hpp"
#include "manta/store/node_messages.hpp"

#include <string_view>
#include <utility>

namespace manta::detail {

std::string fetch_far_value(const remote_ptr& obj, const value_codec& codec,
                            std::shared_ptr<const void>& out) {
  return fetch_remote(obj, codec, out);
}

remote_ptr kept_record(object_id id, uint16_t node, uint64_t size) {
  return std::make_shared<remote_object>(id, node, size, wire::bytes{}, resource_demand{}, 0);
}

remote_ptr lent_record(object_id id, uint16_t holder, uint64_t size, uint16_t owner,
                       std::string host, uint16_t port, std::optional<std::vector<char>> bytes) {
  auto obj = kept_record(id, holder, size);
  obj->lender = remote_object::lender_info{owner, std::move(host), port, std::move(bytes)};
  return obj;
}

object_id record_id(const remote_object& r) {
  return r.id;
}

uint64_t record_size(const remote_object& r) {
  return r.encoded_size.load();
}

std::optional<uint16_t> record_lender(const remote_object& r) {
  if (r.lender)
    return r.lender->owner;
  return std::nullopt;
}

bool rewrites_lent(runtime& rt, const remote_object& r, const value_codec* codec) {
  return r.lender && codec != nullptr && std::string_view{codec->kind} != "raw"
         && !cluster_worker(rt);
}

bool record_location(runtime& rt, const remote_object& r, ref_wire& w) {
  w.size = r.encoded_size.load();
  w.holder = r.node.load();
  if (r.lender) { // borrowed here: its lender's data path
    w.host = r.lender->host;
    w.port = r.lender->port;
    if (r.lender->bytes) {
      w.bytes = *r.lender->bytes;
      w.inlined = true;
    }
    return true;
  }
  // A result kept on the worker that made it.
  if (auto* link = rt.cluster_link())
    for (auto& n : link->workers())
      if (n.index == w.holder) {
        w.host = n.host;
        w.port = n.data_port;
        return true;
      }
  return false;
}

void own_location(runtime& rt, ref_wire& w) {
  auto& link = *rt.cluster_link();
  w.holder = link.index();
  w.host = link.data_host();
  w.port = link.data_port();
}

} // namespace manta::detail
