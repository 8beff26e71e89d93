#pragma once

#include "manta/store/held_objects.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

/// Reading an object's bytes from the transfer servers of the nodes holding
/// it (object_transfer.hpp), from several holders at once. Every read runs
/// on the process's fetch loop (fetch_loop.hpp): a few threads, and a
/// bounded number of connections, however many reads run at once.
namespace manta::detail {

class data_path_tls;

/// The TLS readers use unless a call says otherwise: the data path TLS of
/// the runtime's cluster link while it is in a cluster (cluster.cpp); null
/// for a plain cluster, whose data path is plain TCP, and outside one.
std::shared_ptr<data_path_tls> reader_tls();

/// Connections one object is read over from a single holder (chunks of
/// `transfer_chunk`, each connection with two requests in flight).
inline constexpr int transfer_streams = 2;

/// One node holding an object, and where it serves it.
struct object_source {
  std::string host;
  uint16_t port = 0;
};

/// Holders one read uses at once; the others stand by, each replacing one
/// that fails.
inline constexpr size_t transfer_sources = 2;

/// Told how a read ended: an empty string on success, else why not.
using fetch_done = std::function<void(std::string err)>;

/// Reads `size` bytes of object `id` into `out` (resized) from `sources`,
/// chunk by chunk: the first `transfer_sources` get a connection each (a
/// single one `streams`), each connection keeps two chunk requests in
/// flight and takes the next chunk not yet read, so faster holders serve
/// more. A source that fails (refused, gone, cut off, stalled, or without
/// the object) is dropped, its chunks go to the others, and the next
/// source standing by joins. `arrived`, if given, is told each chunk that
/// landed. Connections are TLS with `tls`, plain TCP without. Every step
/// on a connection is bounded (`transfer_stall_timeout` without a byte
/// moving drops that source). Returns an empty string on success, else why
/// not (every source failed). The caller's thread waits for the read;
/// `fetch_object_async` does not.
std::string fetch_object(const std::vector<object_source>& sources, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out,
                         int streams = transfer_streams, copy_progress* arrived = nullptr,
                         std::shared_ptr<data_path_tls> tls = reader_tls());

/// The same read without waiting: returns at once and calls `done` on a
/// thread of the fetch loop once the read ended and its connections closed
/// (nothing touches `out` after that; `done` must not wait on another
/// read). A read of nothing, or from no source, calls `done` at once. At
/// most `fetch_loop::max_active` reads hold connections at once; the
/// others wait their turn.
void fetch_object_async(std::vector<object_source> sources, std::string token, uint64_t id,
                        uint64_t size, std::shared_ptr<std::vector<char>> out, fetch_done done,
                        int streams = transfer_streams,
                        std::shared_ptr<copy_progress> arrived = nullptr,
                        std::shared_ptr<data_path_tls> tls = reader_tls());

/// Hands back a read's buffer once its bytes were used (decoded): one of
/// `huge_copy_bytes` or more is kept in the buffer pool (buffer_pool.hpp)
/// with its pages mapped, within the memory budget, and the next read of
/// about its size lands there instead of in fresh memory, whose first
/// touch (mapping and zeroing the pages) costs about as much as the
/// transfer on loopback. Smaller ones are freed.
void recycle_read_buffer(std::vector<char>&& bytes) noexcept;

/// Reads object `id` from the one transfer server at host:port.
std::string fetch_object(const std::string& host, uint16_t port, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams = 1,
                         std::shared_ptr<data_path_tls> tls = reader_tls());

} // namespace manta::detail
