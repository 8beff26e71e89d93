#include "actors/head_link.hpp"

#include "actors/cluster_client_internal.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_actors.hpp"
#include "manta/core/backoff.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/net/transport.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cstdio>

// The driver's connection to the head. The head only tells drivers which
// workers join and leave; the work itself goes straight to the workers. So
// when the head's connection closes (a broken link, or the head died), the
// driver keeps running on the workers it is connected to and joins the head
// again, as workers do (cluster.cpp: a head restarted on its port with the
// cluster's token takes both back under their indices).
namespace manta::actors {

// -- head_link -----------------------------------------------------------------

bool head_link::is(const caf::actor_addr& source) const noexcept {
  return source == head_.address();
}

void head_link::joined(caf::actor head) {
  head_ = std::move(head);
  lost_since_.reset();
  attempts_ = 0;
}

bool head_link::lost(clock::time_point now) {
  if (lost_since_)
    return false;
  lost_since_ = now;
  attempts_ = 0;
  return true;
}

bool head_link::away_longer(clock::time_point now, clock::duration window) const noexcept {
  return lost_since_ && now - *lost_since_ > window;
}

// -- the client's steps --------------------------------------------------------

namespace {

using namespace detail;

void schedule_rejoin(self_ptr self) {
  auto attempts = self->state.head.attempts();
  auto delay = detail::backoff_delay(reconnect_delay * 2, attempts, reconnect_max_delay);
  self->delayed_send(self, delay, rejoin_atom::value);
}

void rejoined(self_ptr self, caf::actor head, const bytes_t& answer) {
  auto& st = self->state;
  wire::cluster_view view;
  if (auto err = wire::decode(answer, view); !err.empty()) {
    detail::log_line(log_level::warning, "manta: the head's answer to the driver's join: %s\n",
                     err.c_str());
    schedule_rejoin(self);
    return;
  }
  detail::log_line(log_level::info, "manta: the driver joined the head again after %d attempt(s)\n",
                   st.head.attempts());
  st.head.joined(std::move(head));
  self->monitor(st.head.registry());
  // Workers that joined while the head was away; those known already are
  // left as they are.
  for (auto& rec : view.nodes)
    connect(self, rec);
  // A head started afresh without a store knows none of them.
  report_named_actors(self);
}

} // namespace

void head_lost(self_ptr self) {
  auto& st = self->state;
  if (!st.head.lost(std::chrono::steady_clock::now()))
    return;
  detail::log_line(log_level::warning,
                   "manta: the driver lost its connection to the head at %s; its workers keep "
                   "running its work, and it joins the head again for up to %lld s\n",
                   st.link->head_address().c_str(),
                   static_cast<long long>(cluster::rejoin_window.count()));
  schedule_rejoin(self);
}

void rejoin_head(self_ptr self) {
  auto& st = self->state;
  if (!st.head.away())
    return;
  if (st.head.away_longer(std::chrono::steady_clock::now(), cluster::rejoin_window)) {
    detail::log_line(log_level::error,
                     "manta: the driver gave up joining the head again after %d attempts; it keeps "
                     "the workers it is connected to, but hears of no new ones\n",
                     st.head.attempts());
    return;
  }
  st.head.count_try();
  // With a head store, where the head is now: a replacement may listen
  // elsewhere (docs/cluster.md, "Head fault tolerance"; bounded).
  auto [host, port] = parse_address(st.link->find_head());
  self
    ->request(cluster_middleman(self->system()), reconnect_timeout, caf::connect_atom::value, host,
              port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (!ptr) {
          schedule_rejoin(self);
          return;
        }
        auto head = caf::actor_cast<caf::actor>(std::move(ptr));
        auto me = self->state.link->joined_as();
        me.index = self->state.link->index(); // the same driver, back
        self
          ->request(head, reconnect_timeout, join_atom::value, self->state.link->token(),
                    wire::encode(me), caf::actor_cast<caf::actor>(self))
          .then([=](const bytes_t& answer) { rejoined(self, head, answer); },
                [=](caf::error& err) {
                  if (self->state.head.attempts() == 1)
                    detail::log_line(log_level::warning,
                                     "manta: the head did not take the driver back: %s\n",
                                     caf::to_string(err).c_str());
                  schedule_rejoin(self);
                });
      },
      [=](caf::error&) { schedule_rejoin(self); });
}

} // namespace manta::actors
