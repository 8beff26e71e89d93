#pragma once

// The transfer server's state, shared by the acceptor (object_transfer.cpp)
// and the connections (transfer_connection.cpp); nothing else includes it.

#include "manta/detail/log_limiter.hpp"
#include "manta/detail/log_sink.hpp"
#include "manta/detail/object_transfer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace manta::detail {

class data_path_tls;

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// One served connection as the server sees it; all else is in
/// transfer_connection.cpp and runs on the connection's strand.
struct connection_base {
  virtual ~connection_base() = default;
  /// Begins serving (the handshake or the first request) on its strand.
  virtual void start() = 0;
  /// Closes the connection on its strand.
  virtual void close_soon() = 0;
  /// Presented the token: never evicted for a newcomer.
  std::atomic<bool> authenticated{false};
  /// Guarded by the server's mutex.
  bool registered = false;
  std::list<std::shared_ptr<connection_base>>::iterator where;
};

struct transfer_server::impl {
  impl(std::string tok, lookup_fn look, std::shared_ptr<data_path_tls> t, transfer_limits l);

  asio::io_context io;
  asio::thread_pool helper;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_timer{io};
  std::string token;
  lookup_fn lookup;
  std::shared_ptr<data_path_tls> tls;
  transfer_limits limits;
  size_t cap;
  std::chrono::milliseconds tick;
  std::atomic<size_t> refused{0};
  std::atomic<size_t> dropped{0};
  std::atomic<bool> stopping{false};
  log_limiter refusal_log{5, std::chrono::seconds{10}};
  log_limiter accept_log{3, std::chrono::seconds{10}};
  mutable std::mutex mtx;
  std::list<std::shared_ptr<connection_base>> conns; ///< in the order they came
  std::vector<std::thread> threads;

  void accept();
  void admit(tcp::socket s);

  /// Takes `c` off the list (it is closing or closed).
  void forget(connection_base& c) {
    std::lock_guard<std::mutex> guard{mtx};
    if (c.registered) {
      c.registered = false;
      conns.erase(c.where);
    }
  }

  void log_refusal(const std::string& peer, const std::string& why) {
    uint64_t skipped = 0;
    if (refusal_log.allow(skipped))
      detail::log_line(log_level::warning, "manta: the object transfer server refused %s: %s%s\n",
                       peer.c_str(), why.c_str(), log_limiter::skipped_text(skipped).c_str());
  }
};

/// A connection on `socket`, not started yet.
std::shared_ptr<connection_base> make_connection(transfer_server::impl& srv, tcp::socket socket);

/// Counts bytes sent to readers (`bytes_served`).
void add_bytes_served(uint64_t n) noexcept;

} // namespace manta::detail
