#pragma once

#include "manta/detail/held_objects.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

/// The raw data path for object bytes: a plain TCP service next to CAF's
/// middleman. Control messages (TaskSpecs, results, membership) stay CAF
/// messages; the bytes of large objects stream over their own connection,
/// written straight from the memory holding them and read straight into
/// the buffer that will hold them, without CAF's serialization, mailbox or
/// single I/O thread (see docs/cluster.md, "Object transfer").
///
/// Request (little-endian): u32 magic "MTX1", u32 token length, u64 object
/// id, u64 offset, u64 length, then the cluster token. Answer: u32 status
/// (0 ok, 1 not here, 2 refused), u32 message length, u64 data length, the
/// message, then the data. A connection serves requests until the client
/// closes it.
namespace manta::detail {

/// Serves object bytes to peers that present the cluster token. Binds to
/// `host` (127.0.0.1 unless the node publishes another address) on an
/// ephemeral port; one thread accepts, one thread serves each connection.
class transfer_server {
public:
  using lookup_fn = std::function<std::optional<held_bytes>(uint64_t id)>;

  transfer_server(const std::string& host, std::string token, lookup_fn lookup);
  ~transfer_server();

  transfer_server(const transfer_server&) = delete;
  transfer_server& operator=(const transfer_server&) = delete;

  uint16_t port() const noexcept;

  /// Connections refused for a wrong token or a malformed request.
  size_t refused() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
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
