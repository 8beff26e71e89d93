#pragma once

#include <span>
#include <string>
#include <vector>

/// The task lane (task_lane.hpp) in a TLS cluster: its bytes go in the
/// data path's own TLS 1.3 records (tls_session.hpp), after the data path's
/// handshake, with its certificate checks (both ends verified against the
/// cluster's CA). Blocking steps with deadlines over the session's
/// non-blocking socket, for the lane's threads: the driver's reader and
/// the cluster client, the worker's pool threads.
namespace manta::detail {
class tls_session;
} // namespace manta::detail

namespace manta::detail::task_lane {

/// Runs the client's handshake of `tls` on its socket `fd` (connected,
/// non-blocking): "" once it is done, else why not (also after
/// `timeout_ms`).
std::string tls_handshake(tls_session& tls, int fd, int timeout_ms);

/// Seals `parts` into records and sends them all, waiting for room at most
/// `timeout_ms` in all; false if the session or the socket failed (see
/// `tls.write_error()`). A frame of at most one record's content goes in one
/// record (copied to `staging` first). The caller holds the lock under which
/// every write of this connection's direction goes: one sealing sequence.
bool write_sealed(tls_session& tls, int fd, std::span<const std::span<const char>> parts,
                  int timeout_ms, std::vector<char>& staging);

/// Reads exactly `n` bytes of opened records into `p`, waiting as long as
/// it takes (the lane is idle between tasks; `shutdown` on `fd` ends the
/// wait); false at the connection's end or a record that does not open
/// (see `tls.read_error()`, `tls.connection_ended()`).
bool read_opened(tls_session& tls, int fd, char* p, size_t n);

} // namespace manta::detail::task_lane
