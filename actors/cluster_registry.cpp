#include "actors/cluster_registry.hpp"

#include "actors/atoms.hpp"
#include "manta/detail/cluster_token.hpp"

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

/// The error a process with a wrong or missing token gets.
caf::error refused(const std::string& token) {
  return caf::make_error(caf::sec::invalid_argument,
                         std::string{"the head refused this process: "}
                           + (token.empty() ? "no cluster token was given"
                                            : "wrong cluster token")
                           + "; " + detail::token_hint());
}

/// Answers a join or query with a wrong token with `refused`, then closes
/// the sender's connection (the answer goes out first) and logs it.
caf::delegated<std::vector<char>> refuse(cluster_registry_actor* self, const std::string& token,
                                         const char* what) {
  auto& sender = self->current_sender();
  auto peer = sender ? sender->node() : caf::node_id{};
  auto rp = self->make_response_promise(); // takes the sender out of the message
  rp.deliver(refused(token));
  self->state.tokens.refuse(self, "manta head", token, what, peer);
  return {};
}

} // namespace

caf::behavior cluster_registry(cluster_registry_actor* self, std::string token) {
  self->state.token = std::move(token);
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.members.find(msg.source);
    if (i == st.members.end())
      return;
    auto index = i->second;
    st.members.erase(i);
    if (st.workers.erase(index) > 0)
      for (auto& [_, d] : st.drivers)
        self->send(d, node_del_atom::value, st.token, index);
    st.drivers.erase(index);
  });
  return {
    [=](join_atom, const std::string& token, const std::vector<char>& info,
        const caf::actor& member) -> caf::result<std::vector<char>> {
      auto& st = self->state;
      // The token before anything else: nothing of a refused peer is
      // decoded, recorded or monitored.
      if (!detail::tokens_equal(token, st.token))
        return refuse(self, token, "join");
      detail::wire::node_record rec;
      if (auto err = detail::wire::decode(info, rec); !err.empty())
        return caf::make_error(caf::sec::invalid_argument, err);
      if (st.next_index == 0)
        return caf::make_error(caf::sec::invalid_argument,
                               "the head has handed out all 65535 node indices; restart "
                               "the cluster");
      rec.index = st.next_index++;
      self->monitor(member);
      st.members[member.address()] = rec.index;
      auto view = view_of(st, rec.index);
      if (rec.driver) {
        st.drivers[rec.index] = member;
      } else {
        auto bytes = detail::wire::encode(rec);
        for (auto& [_, d] : st.drivers)
          self->send(d, node_add_atom::value, st.token, bytes);
        st.workers[rec.index] = std::move(rec);
      }
      return detail::wire::encode(view);
    },
    [=](nodes_atom, const std::string& token) -> caf::result<std::vector<char>> {
      if (!detail::tokens_equal(token, self->state.token))
        return refuse(self, token, "status query");
      return detail::wire::encode(view_of(self->state, 0));
    },
  };
}

} // namespace manta::actors
