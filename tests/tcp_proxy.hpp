#pragma once

// A TCP forwarder on 127.0.0.1 for fault injection in multi-process tests:
// it sits between two nodes of a real cluster and can hold every byte for a
// while (delay), close all its live connections at once (cut), freeze them
// without closing them (stall) and turn new connections away for a while
// (refuse). Plain POSIX sockets and poll, one
// thread; every socket is touched by that thread only.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace manta_test {

class tcp_proxy {
public:
  using clock = std::chrono::steady_clock;

  /// Listens on an ephemeral port of 127.0.0.1 and forwards every
  /// connection to 127.0.0.1:`target` (0: not known yet; connections that
  /// come before `set_target` are turned away).
  explicit tcp_proxy(uint16_t target = 0);

  /// Closes every connection and the listening socket.
  ~tcp_proxy();

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  /// Where it listens (on 127.0.0.1).
  uint16_t port() const noexcept { return port_; }

  void set_target(uint16_t target) { target_.store(target); }

  /// Every byte read from either side is passed on `d` later (0: at once).
  /// Bytes keep their order.
  void set_delay(std::chrono::milliseconds d) { delay_ms_.store(d.count()); }

  /// Closes every live connection, both sides, with a reset (as a broken
  /// link or a crashed router would); bytes not passed on yet are lost.
  /// Returns how many connections it closed.
  size_t cut();

  /// Every live connection stops passing anything on, for good, and is not
  /// closed (until the proxy goes): a partition, or a router that drops
  /// every packet. Neither side sees a close; what they send fills the
  /// sockets' buffers and goes nowhere. New connections are forwarded as
  /// usual. Returns how many connections it stalled.
  size_t stall();

  /// For `d` from now, new connections are accepted and closed at once
  /// with a reset (the peer's handshake fails).
  void refuse_for(std::chrono::milliseconds d);

  /// What it did so far.
  struct counters {
    size_t accepted = 0; ///< connections forwarded
    size_t refused = 0;  ///< connections turned away
    size_t cut = 0;      ///< connections closed by `cut`
    size_t stalled = 0;  ///< connections frozen by `stall`
    size_t live = 0;     ///< connections open now
    size_t bytes = 0;    ///< bytes passed on (both directions)
    size_t held = 0;     ///< chunks that waited for the delay
  };
  counters stats();

private:
  /// Bytes on their way to one side, not before `due`.
  struct chunk {
    clock::time_point due;
    std::string bytes;
    size_t offset = 0;
  };

  /// One forwarded connection: the accepted client and the connection to
  /// the target; `to[k]` is what waits to be written to `fd[k]`.
  struct link {
    int fd[2] = {-1, -1};
    std::deque<chunk> to[2];
    bool eof[2] = {false, false};     ///< fd[k] said it sends nothing more
    bool shut[2] = {false, false};    ///< fd[k] was told the same
  };

  void run();
  void accept_one();
  /// Reads what fd[k] sent; false if the link is done (error).
  bool read_side(link& l, int k);
  /// Writes what is due to fd[k]; false if the link is done (error).
  bool write_side(link& l, int k);
  void close_link(link& l, bool reset);
  /// Runs `f` on the proxy's thread and waits for it.
  template <class T>
  T on_loop(std::function<T()> f);
  void wake();

  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};
  std::atomic<uint16_t> target_;
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<bool> stop_{false};
  clock::time_point refuse_until_{};
  std::vector<std::unique_ptr<link>> links_;
  /// Stalled links: open, never polled.
  std::vector<std::unique_ptr<link>> stalled_;
  counters stats_;
  std::mutex mtx_; ///< guards `tasks_`
  std::vector<std::function<void()>> tasks_;
  std::thread thread_;
};

} // namespace manta_test
