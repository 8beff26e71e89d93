#pragma once

#include "manta/net/connection_pool.hpp"

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

/// The event loop a process reads objects over the data path on
/// (object_fetch.hpp): a few threads serve every fetch's connections, so a
/// node reading hundreds of objects at once runs no thread per fetch or per
/// holder, and holds a bounded number of sockets. Connections outlive the
/// read that opened them: the next read of the same holder takes one from
/// the loop's pool (connection_pool.hpp).
namespace manta::detail {

class fetch_loop {
public:
  /// Fetches that may hold connections at once; the others wait their turn
  /// (in order). Each holds at most `transfer_sources` (or `streams`)
  /// connections, and the pool keeps at most `connection_pool::limits::total`
  /// idle ones, so the process never has more than a few hundred data path
  /// sockets open for reading however many fetches run.
  static constexpr size_t max_active = 64;

  /// The process's loop, started on first use (threads: half the cores,
  /// from 2 to 4: TLS decryption and the kernel's copies run on them).
  static fetch_loop& instance();

  explicit fetch_loop(unsigned threads);
  ~fetch_loop();

  fetch_loop(const fetch_loop&) = delete;
  fetch_loop& operator=(const fetch_loop&) = delete;

  boost::asio::io_context& io() noexcept { return io_; }

  /// Idle connections, kept for the next read of their holder.
  connection_pool& pool() noexcept { return pool_; }

  /// Runs `start` on the loop once fewer than `max_active` fetches hold a
  /// turn; the fetch calls `release` when it ends.
  void admit(std::function<void()> start);
  void release();

  /// Threads of the loop.
  size_t threads() const noexcept { return threads_.size(); }

private:
  boost::asio::io_context io_;
  std::vector<std::thread> threads_;
  std::mutex mtx_;
  size_t active_ = 0;
  std::deque<std::function<void()>> waiting_;
  /// Destroyed before `io_` (after the threads were joined).
  connection_pool pool_;
};

} // namespace manta::detail
