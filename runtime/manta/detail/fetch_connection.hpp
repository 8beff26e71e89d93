#pragma once

#include "manta/detail/connection_pool.hpp"
#include "manta/detail/held_objects.hpp"
#include "manta/detail/object_fetch.hpp"
#include "manta/detail/tls_session.hpp"
#include "manta/detail/transfer_protocol.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

/// The pieces of one read of an object on the fetch loop (object_fetch.cpp
/// starts them): the read's plan, shared by its connections, and one
/// connection to a holder, an asynchronous state machine.
namespace manta::detail {

class fetch_connection;

/// One read of an object from several holders: the chunks not yet read,
/// shared by every connection, which holders failed and why, and which
/// holder stands by next. Connections call it from the loop's threads.
class fetch_op : public std::enable_shared_from_this<fetch_op> {
public:
  /// `pool` (null: none) gives idle connections to the holders and takes
  /// them back once the read no longer needs them.
  /// `grown` (null: none) is the vector `out` is the data of when it is
  /// not sized yet: each chunk's range is mapped and zeroed (`ensure`) by
  /// the connection that reads it, just before, instead of the whole
  /// object before the first request; it has `size` bytes when `done`
  /// runs.
  fetch_op(boost::asio::io_context& io, connection_pool* pool, std::vector<object_source> sources,
           std::string token, uint64_t id, uint64_t size, char* out, std::vector<char>* grown,
           int streams, std::shared_ptr<copy_progress> arrived, std::shared_ptr<data_path_tls> tls,
           fetch_done done);

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

  std::vector<char>* const grown_;
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

/// One connection to a holder's transfer server, plain TCP or TLS: keeps
/// two chunk requests in flight and reads the answers straight into the
/// object's buffer until no chunk is left for it, then goes back to the
/// pool (at a request boundary, so the next read of that holder skips the
/// connect and the handshake). Every step is bounded: a connect, a
/// handshake, a write or a read during which no byte moves for
/// `transfer_stall_timeout` drops the holder. A connection taken from the
/// pool that fails before its first answer (the holder closed it or
/// restarted meanwhile) is replaced by a fresh one, once: no byte of it
/// landed, so nothing is read twice or wrong.
class fetch_connection : public std::enable_shared_from_this<fetch_connection> {
public:
  /// A connection to source `src`: `idle` (from the pool) or, if null, a
  /// new one.
  fetch_connection(std::shared_ptr<fetch_op> op, size_t src, std::unique_ptr<data_link> idle);

  void start();
  /// Takes chunks again after a `wait` (posted by the plan).
  void resume();

private:
  using step = std::function<void()>;
  using error_code = boost::system::error_code;

  void handshake();
  void fill();
  void read_answer();
  void read_message();
  void read_data();
  /// Writes `requests_` (through TLS if used), then `then`.
  void write_requests(step then);
  void tls_write(size_t at, step then);
  /// Reads [p, p + n), then `then`.
  void read_into(char* p, size_t n, step then);
  /// Waits until the socket is ready as the TLS session asks, then `then`.
  void wait_socket(tls_session::result r, step then);
  /// True if the step may go on; else (an error, a stall) the connection
  /// ended failed.
  bool check(const error_code& ec);
  /// Closes the socket if nothing moved for `transfer_stall_timeout`.
  void arm_watchdog();
  /// Fails with `what` went wrong on the connection, naming the holder.
  void fail_io(const std::string& what);
  /// Drops the holder: its chunks go back to the others.
  void fail(std::string why);
  /// Ends the connection: nothing is left for it (it goes back to the
  /// pool).
  void finish();
  void close();

  std::shared_ptr<fetch_op> op_;
  const size_t src_;
  const bool reused_; ///< taken from the pool
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer watchdog_;
  boost::asio::steady_timer pause_;
  std::unique_ptr<tls_session> tls_;
  std::deque<uint64_t> pending_; ///< requested, answers not read yet
  std::deque<uint64_t> back_; ///< "not here yet": given back, asked again later
  bool served_ = false;
  bool heard_ = false; ///< an answer's header arrived on this connection
  int waits_ = 0;
  transfer_protocol::answer answer_{};
  std::string message_;
  std::vector<char> requests_;
  const char* doing_ = "connect"; ///< the step under way (errors name it)
  std::atomic<uint64_t> moved_{0}; ///< progress: bytes moved, steps taken
  uint64_t seen_ = 0; ///< `moved_` when the watchdog last looked
  bool stalled_ = false;
  bool waiting_ = false; ///< parked until the plan has chunks again
  bool over_ = false;
};

} // namespace manta::detail
