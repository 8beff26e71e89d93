#include "manta/store/node_messages.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/core/runtime.hpp"

namespace manta::detail {

caf::actor node_router() {
  auto* rt = runtime::current();
  auto* link = rt == nullptr ? nullptr : rt->cluster_link();
  if (link == nullptr)
    return {};
  return link->kind() == cluster::role::worker ? rt->node_manager() : cluster::client();
}

bool cluster_worker(runtime& rt) {
  auto* link = rt.cluster_link();
  return link != nullptr && link->kind() == cluster::role::worker;
}

} // namespace manta::detail
