#pragma once

#include "manta/net/connection_pool.hpp"
#include "manta/net/fetch_op.hpp"
#include "manta/store/held_objects.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/net/tls_session.hpp"
#include "manta/net/transfer_protocol.hpp"

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

/// One connection of a read of an object on the fetch loop, an
/// asynchronous state machine that carries out its share of the read's
/// plan (fetch_op.hpp).
namespace manta::detail {

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
