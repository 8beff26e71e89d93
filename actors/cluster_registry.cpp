#include "actors/cluster_registry.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/cluster/build_fingerprint.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/observe/log_sink.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>


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
                           + (token.empty() ? "no cluster token was given" : "wrong cluster token")
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

/// Asks every live member for its state and answers once all did or
/// `state_timeout` passed; departed members are listed as DEAD.
caf::result<cluster_state_ptr> collect_state(cluster_registry_actor* self, const std::string& token,
                                             const std::vector<char>& query) {
  auto& st = self->state;
  // Only the head's own dashboard asks: the answer is an in-process
  // pointer, and the token keeps anyone else out anyway.
  if (self->current_sender() == nullptr || self->current_sender()->node() != self->node()
      || !detail::tokens_equal(token, st.token))
    return caf::make_error(caf::sec::invalid_argument,
                           "the cluster state is for the head's own dashboard");
  struct gathering {
    caf::response_promise promise;
    std::vector<member_state> members;
    size_t waiting = 0;
    void one_done() {
      if (--waiting == 0)
        promise.deliver(
          cluster_state_ptr{std::make_shared<const std::vector<member_state>>(std::move(members))});
    }
  };
  auto g = std::make_shared<gathering>();
  g->promise = self->make_response_promise();
  std::vector<caf::actor> handles;
  for (auto& [index, m] : st.live) {
    g->members.push_back({m.first, "NOT_RESPONDING", {}, {}});
    handles.push_back(m.second);
  }
  for (auto& rec : st.departed)
    g->members.push_back({rec, "DEAD", "left the cluster", {}});
  g->waiting = handles.size() + 1;
  for (size_t k = 0; k < handles.size(); ++k) {
    self->request(handles[k], state_timeout, state_atom::value, st.token, query)
      .then(
        [g, k](const std::vector<char>& bytes) {
          auto& m = g->members[k];
          if (auto err = detail::wire::decode(bytes, m.answer); err.empty())
            m.state = "ALIVE";
          else
            m.error = err;
          g->one_done();
        },
        [g, k](const caf::error& err) {
          g->members[k].error = err == caf::sec::request_timeout
                                  ? "no answer within " + std::to_string(state_timeout.count())
                                      + " ms"
                                  : caf::to_string(err);
          g->one_done();
        });
  }
  g->one_done(); // delivers now if nobody is to be asked
  return caf::delegated<cluster_state_ptr>{};
}

/// Why `rec` may not join: its build disagrees with a live member's on a
/// function, actor class or constructor both have (build_fingerprint.hpp),
/// or "". The member it replaces (same index, a rejoin) does not count.
std::string build_refusal(const cluster_registry_state& st, const detail::wire::node_record& rec) {
  for (auto& [index, m] : st.live)
    if (index != rec.index || rec.index == 0)
      if (auto why = detail::join_conflict(rec, m.first); !why.empty())
        return why;
  return {};
}

/// A worker or driver joins again under the index it had (its link to the
/// head closed, or this head was restarted): why it cannot, or "" after making
/// room for it. The index must not belong to another live process.
std::string take_back(cluster_registry_state& st, const detail::wire::node_record& rec) {
  if (auto l = st.live.find(rec.index); l != st.live.end()) {
    auto& known = l->second.first;
    if (known.pid != rec.pid || known.host != rec.host)
      return "node index " + std::to_string(rec.index) + " belongs to another live process (pid "
             + std::to_string(known.pid) + " on " + known.host + ")";
    // Its old link is not known to be broken here yet: the new one counts.
    st.members.erase(l->second.second.address());
  }
  if (auto r = st.recovered.find(rec.index); r != st.recovered.end()) {
    // Read back from the store: only the process it was may take it.
    if (r->second.pid != rec.pid || r->second.host != rec.host)
      return "node index " + std::to_string(rec.index) + " belongs to another process (pid "
             + std::to_string(r->second.pid) + " on " + r->second.host
             + ", a member of the head this one replaced)";
    st.recovered.erase(r);
  }
  std::erase_if(st.departed, [&](const auto& d) { return d.index == rec.index; });
  // A restarted head hands out indices after the ones it took back.
  if (st.next_index != 0 && rec.index >= st.next_index)
    st.next_index = static_cast<uint16_t>(rec.index + 1);
  return {};
}

/// Writes a change to the store, if there is one. A failed write is logged
/// once per outage and leaves the head working in memory; the next change
/// then writes the whole state again (members, named actors, next index).
void persist(cluster_registry_state& st, const std::function<void(detail::head_store&)>& change) {
  if (!st.store)
    return;
  try {
    if (st.store_behind) {
      auto members = st.recovered;
      for (auto& [index, m] : st.live)
        members[index] = m.first;
      std::vector<detail::named_actor_record> named;
      for (auto& [_, a] : st.named)
        named.push_back(a);
      st.store->put_all(st.next_index, members, named, st.jobs.next(), st.jobs.all());
      detail::log_line(log_level::info,
                       "manta head: the head store at %s is back; the head's state is "
                       "written there again\n",
                       st.store->address().text.c_str());
      st.store_behind = false;
    } else {
      change(*st.store);
    }
  } catch (const detail::head_store_error& e) {
    if (!st.store_behind)
      detail::log_line(log_level::warning,
                       "manta head: %s; the head keeps working, its state in memory "
                       "only until the store answers again\n",
                       e.what());
    st.store_behind = true;
  }
}

/// A member left (or was forgotten): its record goes from the store.
void forget_member(cluster_registry_state& st, uint16_t index) {
  persist(st, [&](detail::head_store& s) { s.drop_node(index); });
}

} // namespace

caf::behavior cluster_registry(cluster_registry_actor* self, std::string token,
                               registry_recovery recovery) {
  self->state.token = std::move(token);
  self->state.jobs = job_table{[self](const detail::job_record& j, uint32_t next) {
    persist(self->state, [&](detail::head_store& s) {
      s.put_job(j);
      s.put_next_job(next);
    });
  }};
  if (recovery.store) {
    auto& st = self->state;
    st.store = std::move(recovery.store);
    st.recovered = std::move(recovery.members);
    for (auto& a : recovery.named)
      st.named[{a.ns, a.name}] = std::move(a);
    st.jobs.recover(recovery.next_job, recovery.jobs);
    // Never hand out an index a recovered member (or any earlier one) had.
    st.next_index = std::max<uint16_t>(st.next_index, recovery.next_index);
    for (auto& [index, _] : st.recovered)
      if (index >= st.next_index)
        st.next_index = static_cast<uint16_t>(index + 1);
    if (!st.recovered.empty() || !st.named.empty())
      detail::log_line(log_level::info,
                       "manta head: recovered %zu member(s) and %zu named actor(s) from "
                       "the head store at %s; members have %lld s to rejoin\n",
                       st.recovered.size(), st.named.size(), st.store->address().text.c_str(),
                       static_cast<long long>(recovery_window.count()));
    self->delayed_send(self, recovery_window, forget_atom::value);
  }
  self->set_default_handler(drop_unexpected("manta head"));
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.members.find(msg.source);
    if (i == st.members.end())
      return;
    auto index = i->second;
    st.members.erase(i);
    if (auto m = st.live.find(index); m != st.live.end()) {
      st.departed.push_back(std::move(m->second.first));
      if (st.departed.size() > max_departed)
        st.departed.pop_front();
      st.live.erase(m);
    }
    if (st.workers.erase(index) > 0)
      for (auto& [_, d] : st.drivers)
        self->send(d, node_del_atom::value, st.token, index);
    if (st.drivers.erase(index) > 0) {
      st.jobs.driver_left(index);
      // Its actors on workers went with it (the workers drop them), but
      // for the detached ones, which stay until killed.
      for (auto n = st.named.begin(); n != st.named.end();) {
        if (n->second.owner != index || n->second.detached) {
          ++n;
          continue;
        }
        auto a = n->second;
        persist(st, [&](detail::head_store& s) { s.drop_actor(a.ns, a.name); });
        n = st.named.erase(n);
      }
    }
    forget_member(st, index);
    // Its named actors died with it; owners that restart them elsewhere
    // report the new place.
    for (auto n = st.named.begin(); n != st.named.end();) {
      if (n->second.node != index) {
        ++n;
        continue;
      }
      auto a = n->second;
      persist(st, [&](detail::head_store& s) { s.drop_actor(a.ns, a.name); });
      n = st.named.erase(n);
    }
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
      if (auto why = build_refusal(st, rec); !why.empty()) {
        detail::log_line(log_level::warning, "manta head: refused a %s: %s\n",
                         rec.driver ? "driver" : "worker", why.c_str());
        return caf::make_error(caf::sec::invalid_argument, why);
      }
      if (rec.index != 0) {
        if (auto why = take_back(st, rec); !why.empty())
          return caf::make_error(caf::sec::invalid_argument, why);
      } else if (st.next_index == 0) {
        return caf::make_error(caf::sec::invalid_argument,
                               "the head has handed out all 65535 node indices; restart "
                               "the cluster");
      } else {
        rec.index = st.next_index++;
      }
      std::string job_note;
      if (rec.driver)
        rec.job_id = st.jobs.admit(rec, job_note);
      if (!job_note.empty())
        detail::log_line(log_level::info, "manta head: node-%u (pid %u): %s\n", unsigned{rec.index},
                         rec.pid, job_note.c_str());
      self->monitor(member);
      st.members[member.address()] = rec.index;
      auto view = view_of(st, rec.index);
      view.your_job = rec.job_id;
      st.live[rec.index] = {rec, member};
      if (rec.driver) {
        st.drivers[rec.index] = member;
      } else {
        auto bytes = detail::wire::encode(rec);
        for (auto& [_, d] : st.drivers)
          self->send(d, node_add_atom::value, st.token, bytes);
      }
      persist(st, [&](detail::head_store& s) {
        s.put_node(rec);
        s.put_next_index(st.next_index);
      });
      if (!rec.driver)
        st.workers[rec.index] = std::move(rec);
      return detail::wire::encode(view);
    },
    [=](forget_atom) {
      auto& st = self->state;
      if (self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(self))
        return; // only its own timer

      for (auto& [index, rec] : st.recovered) {
        detail::log_line(log_level::warning,
                         "manta head: node-%u (pid %u on %s) did not rejoin within %lld s; "
                         "forgotten\n",
                         unsigned{index}, unsigned{rec.pid}, rec.host.c_str(),
                         static_cast<long long>(recovery_window.count()));
        forget_member(st, index);
        if (rec.driver)
          st.jobs.driver_left(index);
      }
      st.recovered.clear();
      // Named actors whose node is gone: their owners, if alive, told
      // where they restarted (a new record) by now.
      for (auto i = st.named.begin(); i != st.named.end();) {
        if (st.workers.count(i->second.node) != 0) {
          ++i;
          continue;
        }
        auto a = i->second;
        persist(st, [&](detail::head_store& s) { s.drop_actor(a.ns, a.name); });
        i = st.named.erase(i);
      }
    },
    [=](actor_put_atom, const std::string& token, const std::string& record) {
      auto& st = self->state;
      if (!detail::tokens_equal(token, st.token))
        return;
      try {
        auto a = detail::decode_actor("a driver's named-actor record", record);
        persist(st, [&](detail::head_store& s) { s.put_actor(a); });
        st.named[{a.ns, a.name}] = std::move(a);
      } catch (const std::exception& e) {
        detail::log_line(log_level::warning, "manta head: %s\n", e.what());
      }
    },
    [=](actor_drop_atom, const std::string& token, const std::string& ns, const std::string& name,
        uint64_t actor_id) {
      auto& st = self->state;
      if (!detail::tokens_equal(token, st.token))
        return;
      auto i = st.named.find({ns, name});
      if (i == st.named.end() || i->second.actor_id != actor_id)
        return; // a newer instance took the name
      st.named.erase(i);
      persist(st, [&](detail::head_store& s) { s.drop_actor(ns, name); });
    },
    [=](actor_find_atom, const std::string& token, const std::string& ns,
        const std::string& name) -> caf::result<std::string> {
      auto& st = self->state;
      if (!detail::tokens_equal(token, st.token))
        return caf::make_error(caf::sec::invalid_argument, "wrong cluster token");
      auto i = st.named.find({ns, name});
      if (i == st.named.end())
        return caf::make_error(caf::sec::invalid_argument, "no actor named '" + name
                                                             + "' in namespace '" + ns
                                                             + "' is known to the head");
      return detail::encode_actor(i->second);
    },
    [=](job_new_atom, const std::string& token, const std::string& entrypoint,
        const std::string& host) -> caf::result<std::string> {
      if (!detail::tokens_equal(token, self->state.token))
        return caf::make_error(caf::sec::invalid_argument, "wrong cluster token");
      return self->state.jobs.submit(entrypoint, host);
    },
    [=](job_end_atom, const std::string& token, const std::string& id, const std::string& state,
        const std::string& detail) -> caf::result<bool> {
      if (!detail::tokens_equal(token, self->state.token))
        return caf::make_error(caf::sec::invalid_argument, "wrong cluster token");
      return self->state.jobs.end(id, state, detail);
    },
    [=](jobs_atom, const std::string& token) -> caf::result<std::string> {
      if (!detail::tokens_equal(token, self->state.token))
        return caf::make_error(caf::sec::invalid_argument, "wrong cluster token");
      return self->state.jobs.to_json();
    },
    [=](state_atom, const std::string& token, const std::vector<char>& query)
      -> caf::result<cluster_state_ptr> { return collect_state(self, token, query); },
    [=](nodes_atom, const std::string& token) -> caf::result<std::vector<char>> {
      if (!detail::tokens_equal(token, self->state.token))
        return refuse(self, token, "status query");
      return detail::wire::encode(view_of(self->state, 0));
    },
  };
}

} // namespace manta::actors
