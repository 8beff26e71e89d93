#pragma once

#include <caf/fwd.hpp>
#include <caf/node_id.hpp>
#include <caf/scheduled_actor.hpp>

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <string_view>

/// The cluster token check of every actor that hears from other processes
/// (node manager, cluster client, registry), and what follows a failed one:
/// the sending node is disconnected. See "Cluster security" in
/// docs/reliability.md.
namespace manta::actors {

class token_gate {
public:
  /// Whether `given` is the cluster token `expected` (compared in constant
  /// time). If not, refuses the sender of the message `self` is handling.
  /// `who` names the checking actor in the log ("manta head", "manta:
  /// node-2 (pid 42)", ...).
  bool admit(caf::event_based_actor* self, const std::string& who, std::string_view expected,
             std::string_view given, const char* what);

  /// Refuses the sender of the message `self` is handling: its node is
  /// disconnected (once the messages `self` sent it so far, such as the
  /// registry's answer, are written), and logged once per node:
  /// "<who> refused and disconnected <node> (<host:port>): wrong cluster
  /// token (a <what> message)". An anonymous message names no node (CAF 0.17
  /// does not tell a receiver which connection brought it): it is refused
  /// and logged, and no connection can be closed.
  void refuse(caf::event_based_actor* self, const std::string& who, std::string_view given,
              const char* what);

  /// The same for a message from `peer` (the sender's node, taken before
  /// `make_response_promise` took the sender out of the message).
  void refuse(caf::event_based_actor* self, const std::string& who, std::string_view given,
              const char* what, const caf::node_id& peer);

  /// Messages refused so far.
  size_t refused() const noexcept { return refused_; }

private:
  size_t refused_ = 0;
  /// Nodes logged already (at most `max_logged`, then a last line says so).
  std::set<caf::node_id> logged_;
  /// Nodes whose disconnect is on its way (one at a time per node).
  std::set<caf::node_id> closing_;
};

/// The handler of messages that match none of the handlers of an actor that
/// hears from other processes (junk from a peer without the token, or a
/// type it does not expect): the message is dropped and logged as "<who>
/// dropped an unexpected message from <node>: <what>", the peer's text cut
/// to 200 bytes and the lines rate-limited per sending node
/// (manta/observe/peer_log.hpp). CAF's own `print_and_drop` writes the whole
/// message to stdout, so any peer could write without bound to a node's log.
caf::scheduled_actor::default_handler drop_unexpected(std::string who);

/// Closes this process's connection to `peer`, after everything `self` sent
/// it so far has been written to that connection. Both ends then see the
/// connection close: their proxies of the other's actors die (monitors get
/// down messages, exactly as when a process dies). `done` gets the peer's
/// "host:port" ("" if no direct connection to it was open) in `self`'s
/// context. Works on CAF 0.17's BASP broker (io/basp_broker.hpp), which has
/// no message for it: the close runs on the middleman's I/O thread, as
/// CAF's own proxy bookkeeping does.
void disconnect(caf::event_based_actor* self, const caf::node_id& peer,
                std::function<void(const std::string&)> done);

} // namespace manta::actors
