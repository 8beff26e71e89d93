#include "actors/token_gate.hpp"

#include "manta/cluster/cluster_token.hpp"
#include "manta/observe/peer_log.hpp"
#include "manta/net/transport.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/io/basp_broker.hpp>

#include <chrono>
#include <cstdio>

namespace manta::actors {

namespace {

/// Distinct refused nodes logged by one actor; past that a stream of new
/// node ids is an attack, not news.
constexpr size_t max_logged = 100;

/// Whether actor `a` terminated. Out of line on purpose: inlined, gcc 12 -O3
/// sees CAF's actor address (its control block plus an offset) as past the
/// end of an object and reports the flag's atomic load as an overflow
/// (-Wstringop-overflow, an error in CI's -Dwerror=true build).
[[gnu::noinline]] bool terminated(const caf::abstract_actor* a) {
  return a->getf(caf::abstract_actor::is_terminated_flag);
}

/// On the middleman's I/O thread, where the BASP broker runs: drops the
/// routing entry and the proxies of `peer` (what CAF does when a connection
/// closes by itself), then closes the socket after its unwritten bytes.
void close_connection(caf::actor_system& sys, const caf::node_id& peer) {
  auto hdl = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  auto* broker = static_cast<caf::io::basp_broker*>(caf::actor_cast<caf::abstract_actor*>(hdl));
  if (broker == nullptr || terminated(broker))
    return;
  auto conn = broker->instance.tbl().lookup_direct(peer);
  if (!conn)
    return;
  broker->connection_cleanup(*conn, caf::sec::socket_disconnected);
  broker->close(*conn);
}

/// What a dropped message held, each element at most `peer_text_limit`
/// bytes: strings cut, byte buffers by their size, anything else by type.
std::string describe(const caf::type_erased_tuple& xs) {
  std::string out = "(";
  for (size_t i = 0; i < xs.size() && i < 4; ++i) {
    if (i > 0)
      out += ", ";
    if (xs.match_element<std::string>(i))
      out += "\"" + detail::printable(xs.get_as<std::string>(i)) + "\"";
    else if (xs.match_element<caf::atom_value>(i))
      out += detail::printable(caf::to_string(xs.get_as<caf::atom_value>(i)));
    else if (xs.match_element<std::vector<char>>(i))
      out += "<" + std::to_string(xs.get_as<std::vector<char>>(i).size()) + " bytes>";
    else
      out += "<a value of type #" + std::to_string(xs.type(i).first) + ">";
  }
  if (xs.size() > 4)
    out += ", ... " + std::to_string(xs.size() - 4) + " more";
  return out + ")";
}

} // namespace

caf::scheduled_actor::default_handler drop_unexpected(std::string who) {
  return [who = std::move(who)](caf::scheduled_actor* self,
                                caf::message_view& x) -> caf::result<caf::message> {
    auto& sender = self->current_sender();
    auto source = sender ? caf::to_string(sender->node()) : std::string{"an unknown sender"};
    detail::log_peer_line(source, [&] {
      return who + " dropped an unexpected message from " + detail::printable(source) + ": "
             + describe(x.content());
    });
    return caf::sec::unexpected_message;
  };
}

void disconnect(caf::event_based_actor* self, const caf::node_id& peer,
                std::function<void(const std::string&)> done) {
  auto* sys = &self->system();
  // The middleman actor hands (get, node) to the BASP broker, behind every
  // message for the peer that `self` sent before: the broker writes those
  // to the connection first, so the refused process still reads its answer.
  self
    ->request(detail::cluster_middleman(*sys), std::chrono::seconds(10), caf::get_atom::value, peer)
    .then(
      [=](const caf::node_id&, const std::string& host, uint16_t port) {
        sys->middleman().backend().post([sys, peer] { close_connection(*sys, peer); });
        done(host.empty() ? std::string{} : host + ":" + std::to_string(port));
      },
      [=](caf::error&) { done({}); });
}

bool token_gate::admit(caf::event_based_actor* self, const std::string& who,
                       std::string_view expected, std::string_view given, const char* what) {
  if (detail::tokens_equal(given, expected))
    return true;
  refuse(self, who, given, what);
  return false;
}

void token_gate::refuse(caf::event_based_actor* self, const std::string& who,
                        std::string_view given, const char* what) {
  auto& sender = self->current_sender();
  refuse(self, who, given, what, sender ? sender->node() : caf::node_id{});
}

void token_gate::refuse(caf::event_based_actor* self, const std::string& who,
                        std::string_view given, const char* what, const caf::node_id& peer) {
  ++refused_;
  auto why = std::string{given.empty() ? "no" : "wrong"} + " cluster token (a " + what
             + " message)";
  if (!peer || peer == self->system().node()) {
    detail::log_peer_line("anonymous senders", [&] {
      return who + " refused an anonymous message: " + why
             + "; its node is unknown, so its connection stays open";
    });
    return;
  }
  if (!closing_.insert(peer).second)
    return; // being disconnected already
  bool log = logged_.size() < max_logged && logged_.insert(peer).second;
  bool last = log && logged_.size() == max_logged;
  disconnect(self, peer, [this, who, peer, log, last, why](const std::string& address) {
    closing_.erase(peer);
    if (!log)
      return;
    // The node id and address are the peer's word: cut and escaped, and
    // the lines of one address rate-limited.
    auto node = caf::to_string(peer);
    detail::log_peer_line(address.empty() ? node : address, [&] {
      return who + " refused and disconnected " + detail::printable(node)
             + (address.empty() ? "" : " (" + detail::printable(address) + ")") + ": " + why
             + (last ? " (no more refused nodes are logged)" : "");
    });
  });
}

} // namespace manta::actors
