#include "actors/cluster_registry.hpp"

#include "actors/atoms.hpp"

#include <caf/all.hpp>

namespace manta::actors {

namespace {

detail::wire::cluster_view view_of(const cluster_registry_state& st, uint16_t index) {
  detail::wire::cluster_view v;
  v.your_index = index;
  for (auto& [i, rec] : st.workers)
    v.nodes.push_back(rec);
  return v;
}

} // namespace

caf::behavior cluster_registry(cluster_registry_actor* self) {
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.members.find(msg.source);
    if (i == st.members.end())
      return;
    auto index = i->second;
    st.members.erase(i);
    if (st.workers.erase(index) > 0)
      for (auto& [_, d] : st.drivers)
        self->send(d, node_del_atom::value, index);
    st.drivers.erase(index);
  });
  return {
    [=](join_atom, const std::vector<char>& info,
        const caf::actor& member) -> caf::result<std::vector<char>> {
      detail::wire::node_record rec;
      if (auto err = detail::wire::decode(info, rec); !err.empty())
        return caf::make_error(caf::sec::invalid_argument, "bad NodeInfo: " + err);
      auto& st = self->state;
      rec.index = st.next_index++;
      self->monitor(member);
      st.members[member.address()] = rec.index;
      auto view = view_of(st, rec.index);
      if (rec.driver) {
        st.drivers[rec.index] = member;
      } else {
        auto bytes = detail::wire::encode(rec);
        for (auto& [_, d] : st.drivers)
          self->send(d, node_add_atom::value, bytes);
        st.workers[rec.index] = std::move(rec);
      }
      return detail::wire::encode(view);
    },
    [=](nodes_atom) { return detail::wire::encode(view_of(self->state, 0)); },
  };
}

} // namespace manta::actors
