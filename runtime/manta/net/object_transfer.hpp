#pragma once

#include "manta/store/held_objects.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

/// The raw data path for object bytes: a TCP service (TLS in a TLS cluster)
/// next to CAF's middleman. Control messages (TaskSpecs, results,
/// membership) stay CAF messages; the bytes of large objects stream over
/// their own connection, written straight from the memory holding them and
/// read straight into the buffer that will hold them, without CAF's
/// serialization, mailbox or single I/O thread (see docs/cluster.md,
/// "Object transfer").
///
/// Request (little-endian): u32 magic "MTX1", u32 token length, u64 object
/// id, u64 offset, u64 length, then the cluster token. Answer: u32 status
/// (0 ok, 1 not here, 2 refused), u32 message length, u64 data length, the
/// message, then the data. A connection serves requests until the client
/// closes it (or stays idle too long), each request with the token, checked
/// before anything else of it is read: readers keep connections between
/// reads (connection_pool.hpp). Checks and bounds: transfer_protocol.hpp.
namespace manta::detail {

class data_path_tls;

/// What a transfer server lets peers cost it. Every bound holds against a
/// peer that never presented the token, so none of them waits on one.
struct transfer_limits {
  /// Connections served at once. At the cap, a new connection replaces the
  /// oldest one that has not presented the token yet (an intruder's, or a
  /// reader still in its handshake), else the one that waited longest (1 s
  /// at least) for its next request (a reader's kept for its next read),
  /// else it is closed at once. Never more than a quarter of the process's
  /// file descriptor limit.
  size_t max_connections = 256;
  /// A connection must complete its TLS handshake and its first request
  /// within this long, and no request or answer may stall this long
  /// mid-way (no byte moved).
  std::chrono::milliseconds stall_timeout{10'000};
  /// A connection that presented the token may wait this long between
  /// requests.
  std::chrono::milliseconds idle_timeout{30'000};
  /// Accepting pauses this long after an error such as "too many open
  /// files" (the pending connection stays queued; the node recovers once
  /// descriptors free up), never spinning.
  std::chrono::milliseconds accept_pause{100};
  /// Threads of the event loop (all connections), and of the helper that
  /// looks objects up (encoding a value or reading it back from a spill
  /// file may take a while: it never holds up the loop).
  unsigned loop_threads = 2;
  unsigned lookup_threads = 2;
};

/// Serves object bytes to peers that present the cluster token. Binds to
/// `host` (127.0.0.1 unless the node publishes another address) on an
/// ephemeral port; an event loop on `loop_threads` threads (Boost.Asio)
/// serves every connection, so threads stay fixed however many peers
/// connect. With `tls`, every connection is TLS 1.3 and both ends' certificates
/// are checked against the cluster's CA before a request is read.
class transfer_server {
public:
  using lookup_fn = std::function<std::optional<held_bytes>(uint64_t id)>;

  transfer_server(const std::string& host, std::string token, lookup_fn lookup,
                  std::shared_ptr<data_path_tls> tls = nullptr, transfer_limits limits = {});
  ~transfer_server();

  transfer_server(const transfer_server&) = delete;
  transfer_server& operator=(const transfer_server&) = delete;

  uint16_t port() const noexcept;

  /// Connections accepted since the server started (served or turned
  /// away at the cap): readers reusing connections add none.
  size_t accepted() const noexcept;

  /// Requests refused for a wrong token or a malformed header, and
  /// connections that failed the TLS handshake.
  size_t refused() const noexcept;

  /// Connections open now.
  size_t connections() const noexcept;

  /// Connections closed for the cap, a timeout or a failed handshake.
  size_t dropped() const noexcept;

  /// The cap in force (transfer_limits::max_connections, or less under a
  /// low file descriptor limit).
  size_t max_connections() const noexcept;

  /// The server's state (object_transfer.cpp; its connections use it).
  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

/// A connection that made no progress for this long counts as dead.
inline constexpr std::chrono::seconds transfer_stall_timeout{10};

/// How long a node serving a copy still being read waits for a chunk
/// before answering that it does not have it (the reader then takes the
/// chunk from another holder).
inline constexpr std::chrono::seconds partial_copy_wait{5};

/// Bytes the transfer servers of this process have sent (all objects).
uint64_t bytes_served() noexcept;

} // namespace manta::detail
