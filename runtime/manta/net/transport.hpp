#pragma once

#include "manta/init.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <cstdint>
#include <string>

/// Connections between the processes of a cluster, TLS (the default) or
/// plain TCP (see "TLS" in docs/cluster.md). A cluster is all-plain or
/// all-TLS: with TLS, every process loads CAF's OpenSSL module with the same
/// CA (made from the cluster token, cluster_tls.hpp, or given as files),
/// publishes and connects through it, and both ends of every connection
/// check the other's certificate against that CA before CAF reads anything.
/// Every publish and connect of the cluster goes through this file, so no
/// call site chooses between the two.
namespace manta::detail {

class tls_config;

/// Checks the files before CAF sees them (CAF fails late and badly on a
/// missing or mismatched file): all three given, readable, the key matches
/// the certificate, and the certificate is signed by the CA. Returns an
/// error text naming the file and the problem, or "" if they are fine.
std::string check_tls(const tls_options& tls);

/// Loads CAF's OpenSSL module into `cfg` (the middleman must be loaded)
/// with the files `tls` names, or else with the identity made from `token`
/// (kept in `cfg`, cluster_tls.hpp); does nothing for `tls.plain`. Accepted
/// connections must finish their handshake within `handshake_timeout`
/// (handshake_guard.hpp). Returns an error text ("" when set up): no token
/// and no files, or OpenSSL failed.
std::string configure_tls(tls_config& cfg, const tls_options& tls, const std::string& token,
                          std::chrono::milliseconds handshake_timeout);

/// Whether `sys` makes its cluster connections with TLS.
bool uses_tls(const caf::actor_system& sys);

/// The middleman actor that makes this system's cluster connections: the
/// OpenSSL module's with TLS, the plain one otherwise. For asynchronous
/// connects (`connect_atom`); see `connect_error` for the errors.
caf::io::middleman_actor cluster_middleman(caf::actor_system& sys);

/// Publishes `whom` at `port` (0: any free port) on `host`; returns the
/// port it listens on. `reuse_address` binds even while connections of a
/// process that used the port before linger (TIME_WAIT), as a head
/// restarted on its port does; a port someone listens on stays refused.
caf::expected<uint16_t> publish(caf::actor_system& sys, const caf::actor& whom, uint16_t port,
                                const std::string& host, bool reuse_address = false);

/// Connects to the actor published at `host:port`, giving up after
/// `timeout` (a plain peer never hears from a TLS one: without a limit it
/// would wait forever). The error says what went wrong, and names TLS when
/// a TLS setting on either side is the likely cause.
caf::expected<caf::actor> connect(caf::actor_system& sys, const std::string& host, uint16_t port,
                                  std::chrono::milliseconds timeout);

/// Whether a failed connect got no answer in time (the peer, or this
/// machine, too slow: a handshake that stalled past the connection
/// timeout) rather than a refusal; worth another try.
bool timed_out(const caf::error& err);

/// A text for a failed connect to `host:port` (from `connect` or a
/// `connect_atom` request to `cluster_middleman`), with a TLS hint where one
/// applies, and `if_refused` appended when nothing listens there.
std::string connect_error(caf::actor_system& sys, const caf::error& err, const std::string& host,
                          uint16_t port, const std::string& if_refused = "");

} // namespace manta::detail
