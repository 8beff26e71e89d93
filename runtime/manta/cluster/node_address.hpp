#pragma once

#include "manta/init.hpp"

#include <string>
#include <string_view>

/// The address a process listens on and tells the cluster
/// (`--node-ip-address`, MANTA_NODE_IP), and the rule that keeps plain TCP
/// on loopback unless the network is declared trusted
/// (`--trusted-network`, MANTA_TRUSTED_NETWORK). Checked at start so that a
/// typo or an address of another machine is an error naming the flag, not a
/// failed connection later (see "Addresses" in docs/cluster.md).
namespace manta::detail {

/// Where a process listens unless told otherwise.
inline constexpr const char* default_node_ip = "127.0.0.1";

/// Throws `invalid_argument_error` naming `where` (the flag or variable)
/// unless `ip` is an IPv4 or IPv6 address of this machine that a socket can
/// bind: not a host name, not 0.0.0.0 or :: (other nodes must be able to
/// connect to what is advertised), not an address of another machine.
void check_node_ip(std::string_view where, const std::string& ip);

/// Whether `ip` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& ip);

/// Refuses (throws `invalid_argument_error`) to listen on a non-loopback
/// `ip` with plain TCP unless `trusted_network`; with it, warns once per
/// process on stderr. `who` names the process in the messages.
void check_exposure(std::string_view who, const std::string& ip, const tls_options& tls,
                    bool trusted_network);

} // namespace manta::detail
