#pragma once

#include "manta/net/tls_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>

/// Connections of the raw data path kept between reads (fetch_loop.hpp):
/// a read of a holder it read from before takes an idle connection to it
/// instead of connecting again, which skipped a TCP connect and, in a TLS
/// cluster, a TLS handshake: most of a small read's time.
namespace manta::detail {

class data_path_tls;

/// Which connections are interchangeable: one holder's transfer server,
/// over one transport (plain TCP, or TLS with one identity).
struct holder_key {
  std::string host;
  uint16_t port = 0;
  const data_path_tls* tls = nullptr;

  bool operator==(const holder_key&) const = default;
};

/// A connection between two reads, at a request boundary: no request in
/// flight, nothing unread, the TLS session (if any) established. Its
/// strand serializes every step on it, in the pool and in a read.
struct data_link {
  boost::asio::strand<boost::asio::io_context::executor_type> strand;
  boost::asio::ip::tcp::socket socket;
  std::unique_ptr<tls_session> tls;
  /// The session's context lives as long as the session.
  std::shared_ptr<data_path_tls> tls_context;
};

class connection_pool {
public:
  struct limits {
    /// Idle connections kept per holder and transport (a read from one
    /// holder uses at most two at once; several reads may run).
    size_t per_holder = 8;
    /// Idle connections kept in all: with `fetch_loop::max_active` reads
    /// holding connections, the descriptors a process spends reading stay
    /// bounded.
    size_t total = 64;
    /// An idle connection is closed after this long: well below a
    /// transfer server's own idle timeout (30 s, `transfer_limits`), so a
    /// reader seldom picks one the holder is closing.
    std::chrono::milliseconds idle_timeout{10'000};
  };

  connection_pool() = default;
  ~connection_pool();

  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// New limits; connections kept already stay until they are taken or
  /// time out.
  void set_limits(limits l);
  limits current_limits() const;

  /// The idle connection to `key` used last, or null. One the holder
  /// closed (or sent anything on: a connection at a request boundary has
  /// nothing to read) is closed and the next one tried. The caller owns it
  /// from now on and runs its steps on its strand. A holder may still close
  /// it as the caller's request goes out: readers retry once on a fresh
  /// connection (fetch_connection.hpp).
  std::unique_ptr<data_link> take(const holder_key& key);

  /// Keeps `link` (called on its strand) until a read takes it or it
  /// times out; the oldest connection makes room when a limit is reached.
  void put(holder_key key, std::unique_ptr<data_link> link);

  /// Closes every idle connection.
  void close_all();

  /// Idle connections now, to `key` or in all.
  size_t idle(const holder_key& key) const;
  size_t idle() const;

  /// Connections reads took from the pool instead of connecting.
  uint64_t reused() const noexcept { return reused_.load(); }

private:
  struct entry;
  using entry_ptr = std::shared_ptr<entry>;

  /// Takes `e` off the list (the lock is held).
  void unlist(const entry_ptr& e);
  /// Closes `e`'s connection on its strand (it is off the list).
  static void close_later(const entry_ptr& e);
  /// Closes `e` if still listed (its idle timeout passed).
  void expire(const entry_ptr& e);

  mutable std::mutex mtx_;
  limits limits_;
  std::list<entry_ptr> idle_; ///< oldest first
  std::atomic<uint64_t> reused_{0};
};

} // namespace manta::detail
