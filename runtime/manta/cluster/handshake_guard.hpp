#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>

/// Bounds on connections that have not finished their TLS handshake, the
/// only state a peer without the cluster's credentials can make a node
/// keep. CAF 0.17 keeps an accepted connection until its peer closes it and
/// has no cap on how many it accepts, so a peer that connects and sends
/// nothing (or half a handshake) would hold a descriptor and a session for
/// ever, and a few thousand such connections would take every descriptor.
///
/// Each accepted TLS session is admitted here before its handshake starts:
/// beyond `max_pending_handshakes` at once it is refused (closed at once),
/// and one that has not finished its handshake within the time its actor
/// system's configuration gives (`handshake_timeout_of`, cluster_tls.hpp)
/// is shut down, which makes CAF's I/O loop see the connection end and
/// close it. Authenticated connections are not touched.
///
/// The table, its watcher thread and the counters are the process's: the
/// bound is on the process's descriptors, whichever actor system accepted
/// them, and OpenSSL frees sessions (and so forgets them here) whenever
/// it does, up to the process's exit after static destructors ran.
namespace manta::detail {

/// Handshakes that may be under way at once on one process.
inline constexpr size_t max_pending_handshakes = 256;

/// Called for a session accepted on descriptor `fd` whose handshake has
/// not finished, which it must finish within `timeout` (its system's, the
/// cluster's connection timeout: a member answers well within it): false
/// when too many are pending (refuse the connection).
bool admit_handshake(SSL* ssl, int fd, std::chrono::milliseconds timeout);

/// Called after each read or write of a session: forgets it once its
/// handshake is done. Costs one lookup in the session's own data.
void handshake_progress(SSL* ssl) noexcept;

/// Called when an accepted connection failed its handshake (a peer
/// without the cluster's credentials): logs it, at most a few lines per
/// interval with a count of the rest, so that no peer can fill the log.
void handshake_refused(int fd);

/// Sessions admitted whose handshake has not finished yet.
size_t pending_handshakes() noexcept;

/// Connections closed so far for taking too long, and refused for too many
/// pending at once (for tests and logs).
size_t handshakes_timed_out() noexcept;
size_t handshakes_refused() noexcept;

} // namespace manta::detail
