#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

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

/// Bytes a node serves; `keep` holds them while they are sent.
struct held_bytes {
  std::shared_ptr<const void> keep;
  const char* data = nullptr;
  size_t size = 0;
};

/// The encoded objects this node keeps for owners on other nodes (large
/// task results), read by the node manager and the transfer server.
class held_objects {
public:
  static held_objects& instance();

  void put(uint64_t id, std::shared_ptr<const std::vector<char>> bytes);
  std::shared_ptr<const std::vector<char>> find(uint64_t id) const;
  void erase(uint64_t id);
  /// The bytes of `id` as the transfer server sends them.
  std::optional<held_bytes> view(uint64_t id) const;

private:
  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, std::shared_ptr<const std::vector<char>>> map_;
};

/// What this process serves for object `id`: a held object (kept for an
/// owner elsewhere), else a sealed value of its own object table, encoded
/// (without a copy for contiguous plain data). Empty if it has neither.
std::optional<held_bytes> local_object_bytes(uint64_t id);

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

/// Parallel connections one object is read over (ranges of at least
/// 16 MiB each).
inline constexpr int transfer_streams = 2;

/// A connection that made no progress for this long counts as dead.
inline constexpr std::chrono::seconds transfer_stall_timeout{10};

/// Reads `size` bytes of object `id` from the transfer server at
/// host:port into `out` (resized), over up to `streams` connections in
/// parallel (each reads one contiguous range). Returns an empty string on
/// success, else why not (refused, not there, cut off, stalled).
std::string fetch_object(const std::string& host, uint16_t port, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams = 1);

} // namespace manta::detail
