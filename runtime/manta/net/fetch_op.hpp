#pragma once

#include "manta/net/connection_pool.hpp"
#include "manta/store/held_objects.hpp"
#include "manta/cluster/object_fetch.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

/// The plan of one read of an object on the fetch loop (object_fetch.cpp
/// starts it), shared by its connections (fetch_connection.hpp).
namespace manta::detail {

class fetch_connection;

/// Mapping threads (`fetch_op`'s, for reads into fresh memory) started
/// since the process started.
uint64_t mapping_threads_started() noexcept;

/// One read of an object from several holders: the chunks not yet read,
/// shared by every connection, which holders failed and why, and which
/// holder stands by next. Connections call it from the loop's threads.
class fetch_op : public std::enable_shared_from_this<fetch_op> {
public:
  /// `pool` (null: none) gives idle connections to the holders and takes
  /// them back once the read no longer needs them.
  /// `grown` (null: none) is the vector `out` is the data of when it is
  /// not sized yet: a thread of the read's own maps its pages ahead of the
  /// connections (`map_ahead`), and each chunk's range is zeroed (`ensure`)
  /// by the connection that reads it, just before, instead of the whole
  /// object before the first request; it has `size` bytes when `done`
  /// runs.
  fetch_op(boost::asio::io_context& io, connection_pool* pool, std::vector<object_source> sources,
           std::string token, uint64_t id, uint64_t size, char* out, std::vector<char>* grown,
           int streams, std::shared_ptr<copy_progress> arrived, std::shared_ptr<data_path_tls> tls,
           fetch_done done);
  ~fetch_op();

  fetch_op(const fetch_op&) = delete;
  fetch_op& operator=(const fetch_op&) = delete;

  /// Opens the first holders' connections.
  void start();

  enum class take_result { chunk, wait, none };

  /// The next chunk for a connection to `src`; `wait` while others may
  /// still give chunks back (the connection is resumed then), `none` when
  /// nothing is left for it.
  take_result take(size_t src, const std::shared_ptr<fetch_connection>& asker, uint64_t& k);
  void landed(uint64_t k);
  /// Source `src` failed: its chunks in flight go back to the others.
  void failed(size_t src, std::string why, const std::deque<uint64_t>& chunks);
  /// Chunks a connection asked for too early go back to everyone.
  void give_back(const std::deque<uint64_t>& chunks);
  /// A connection taken from the pool failed before any answer came on
  /// it (the holder had closed it, or restarted): its chunks go back and
  /// a fresh connection to `src` replaces it.
  void retry(size_t src, const std::deque<uint64_t>& chunks);
  /// Which pooled connections serve source `src`.
  holder_key key_of(size_t src) const;
  /// A connection ended; the last one ends the read.
  void ended();
  /// `out` holds at least `end` bytes, those not yet landed zeroed: the
  /// vector grows (within its capacity: it never moves) up to `end`. A
  /// chunk's reader calls it before reading into the chunk, so the range
  /// it zeroes holds no chunk a reader is writing.
  void ensure(uint64_t end);

  boost::asio::io_context& io;
  connection_pool* const pool;
  const std::vector<object_source> sources;
  const std::string token;
  const uint64_t id;
  const uint64_t size;
  char* const out;
  const std::shared_ptr<copy_progress> arrived;
  const std::shared_ptr<data_path_tls> tls;

private:
  /// Connections to source `src`, idle ones from the pool first (the lock
  /// is held).
  void open(size_t src);
  /// Wakes the connections waiting for chunks (the lock is not held).
  void wake(std::vector<std::shared_ptr<fetch_connection>> waiting);
  std::string outcome() const;
  /// The mapping thread's loop: maps `out`'s pages ahead of the readers.
  void map_ahead() noexcept;
  /// Stops the mapping thread and waits for it.
  void stop_mapping() noexcept;

  std::vector<char>* const grown_;
  /// With `grown_`: maps fresh pages while the connections read (mapping a
  /// fresh page costs the kernel, and on a virtual machine the host, about
  /// as much as the transfer of its bytes); `mapped_` bytes of `out` are
  /// mapped.
  std::thread mapper_;
  std::atomic<uint64_t> mapped_{0};
  std::atomic<bool> stop_mapping_{false};
  std::mutex grow_mtx_;
  std::mutex mtx_;
  std::deque<uint64_t> todo_;
  uint64_t left_ = 0; ///< chunks not landed yet
  std::vector<std::string> errors_; ///< per source; non-empty: dropped
  size_t tried_ = 0; ///< sources opened
  size_t connections_ = 0; ///< open now
  size_t per_source_ = 1;
  bool finished_ = false;
  std::vector<std::shared_ptr<fetch_connection>> waiting_;
  std::vector<std::shared_ptr<fetch_connection>> starting_;
  fetch_done done_;
};

} // namespace manta::detail
