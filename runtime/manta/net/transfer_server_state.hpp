#pragma once

// The transfer server's state, shared by the acceptor (object_transfer.cpp)
// and the connections (transfer_connection.cpp); nothing else includes it.

#include "manta/observe/log_limiter.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/net/object_transfer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
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
using steady = std::chrono::steady_clock;

/// How long a connection must have waited for its next request before a
/// newcomer may take its place at the cap.
inline constexpr std::chrono::seconds evictable_idle{1};

/// One served connection as the server sees it; all else is in
/// transfer_connection.cpp and runs on the connection's strand.
struct connection_base {
  virtual ~connection_base() = default;
  /// Begins serving (the handshake or the first request) on its strand.
  virtual void start() = 0;
  /// Closes the connection on its strand.
  virtual void close_soon() = 0;
  /// Presented the token: evicted for a newcomer only while idle.
  std::atomic<bool> authenticated{false};
  /// Since when (steady clock ticks) it has waited for its next request
  /// after an answer; 0 while a request is under way or before the first.
  std::atomic<int64_t> idle_since{0};
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
  std::atomic<size_t> accepted{0};
  std::atomic<size_t> refused{0};
  std::atomic<size_t> dropped{0};
  std::atomic<bool> stopping{false};
  log_limiter refusal_log{5, std::chrono::seconds{10}};
  log_limiter accept_log{3, std::chrono::seconds{10}};
  mutable std::mutex mtx;
  std::list<std::shared_ptr<connection_base>> conns; ///< in the order they came
  std::vector<std::thread> threads;

  /// Loop threads running a task lane's task (transfer_connection.cpp,
  /// `on_lane_frame`): all but one at most, so that one always reads.
  std::atomic<unsigned> running_tasks{0};
  /// Signalled when the last of them ends while the server stops.
  std::mutex tasks_mtx;
  std::condition_variable tasks_cv;

  void accept();
  void admit(tcp::socket s);
  /// Takes a loop thread for a lane task, if one is spare; `give_spare`
  /// gives it back.
  bool take_spare() noexcept {
    auto spare = std::max(1u, limits.loop_threads) - 1;
    auto n = running_tasks.load(std::memory_order_relaxed);
    while (n < spare)
      if (running_tasks.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel))
        return true;
    return false;
  }
  void give_spare() noexcept {
    if (running_tasks.fetch_sub(1) == 1 && stopping.load()) {
      std::lock_guard<std::mutex> guard{tasks_mtx};
      tasks_cv.notify_all();
    }
  }
  /// Whether no lane task runs on a loop thread, or none does any more
  /// within `grace` (the server stops).
  bool tasks_end_within(std::chrono::milliseconds grace) {
    std::unique_lock<std::mutex> guard{tasks_mtx};
    return tasks_cv.wait_for(guard, grace, [this] { return running_tasks.load() == 0; });
  }
  /// The connection idle longest between requests, for at least
  /// `evictable_idle` (a reader between the chunks of one read is not),
  /// or `conns.end()` (the lock is held).
  std::list<std::shared_ptr<connection_base>>::iterator longest_idle();

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
