#pragma once

// The floors of a link, measured between two processes on one socket with
// nothing else: an object transfer's, a raw TCP stream of as many bytes
// (sends and receives of up to 4 MiB; data_path_benchmark,
// cluster_benchmark), and a round trip's, a raw TCP ping-pong of a request
// and a reply of given sizes (cluster_benchmark).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace manta_tools {

/// A socket listening on 127.0.0.1 (an unused port); exits on failure.
inline int listen_loopback(uint16_t& port, const char* who) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(fd, 16) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "%s cannot listen on 127.0.0.1\n", who);
    std::exit(1);
  }
  port = ntohs(addr.sin_port);
  return fd;
}

/// A socket connected to 127.0.0.1:port; exits on failure.
inline int connect_loopback(uint16_t port, const char* who) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "%s cannot connect\n", who);
    std::exit(1);
  }
  return fd;
}

/// Sends or receives exactly `n` bytes (`io` is ::send or ::recv with its
/// flags bound); false if the peer went.
template <class Io, class Char>
bool whole(Io io, Char* data, uint64_t n) {
  for (uint64_t at = 0; at < n;) {
    auto k = io(data + at, std::min<uint64_t>(n - at, uint64_t{4} << 20));
    if (k <= 0)
      return false;
    at += static_cast<uint64_t>(k);
  }
  return true;
}

/// A child process, forked from a process that may run threads, that
/// serves each connection to 127.0.0.1:port with `serve(fd)`, then closes
/// it; killed when this object goes (or its parent dies). `serve` runs in
/// the child: system calls only, no allocation.
class forked_server {
public:
  template <class Serve>
  forked_server(const char* who, Serve serve) {
    int fd = listen_loopback(port_, who);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (;;) {
        int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0)
          continue;
        serve(c);
        ::close(c);
      }
    }
    ::close(fd);
  }

  ~forked_server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  forked_server(const forked_server&) = delete;
  forked_server& operator=(const forked_server&) = delete;

  uint16_t port() const noexcept { return port_; }

private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

/// A child process that streams `n` bytes of `data` to each connection on
/// 127.0.0.1:port, then closes it.
class raw_stream_server {
public:
  raw_stream_server(const char* data, uint64_t n)
    : server_("the raw stream", [data, n](int c) {
        whole([c](const char* p, uint64_t k) { return ::send(c, p, k, MSG_NOSIGNAL); }, data, n);
      }) {}

  /// Reads the whole stream into `out` (`n` bytes); seconds, from the
  /// connect to the last byte.
  double read(char* out, uint64_t n) const {
    auto start = std::chrono::steady_clock::now();
    int fd = connect_loopback(server_.port(), "the raw stream");
    uint64_t at = 0;
    while (at < n) {
      auto k = ::recv(fd, out + at, std::min<uint64_t>(n - at, uint64_t{4} << 20), 0);
      if (k <= 0)
        break;
      at += static_cast<uint64_t>(k);
    }
    ::close(fd);
    if (at != n) {
      std::fprintf(stderr, "BUG: the raw stream ended after %llu of %llu bytes\n",
                   static_cast<unsigned long long>(at), static_cast<unsigned long long>(n));
      std::exit(1);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

private:
  forked_server server_;
};

/// Where a ping-pong's bytes change hands on their way, as a task lane
/// that is not one thread at each end would (docs/cluster.md, "The floor
/// of a direct task lane"): each hand-off is one more thread wake-up.
struct hand_offs {
  /// The server's reading thread hands each request to another (a pool
  /// thread's part), which writes the reply.
  bool server = false;
  /// The client's reading thread hands each reply to the caller (a thread
  /// parked in `get`), which sent the request.
  bool client = false;
};

/// The floor of a round trip on a link: a child process that answers each
/// request of `request` bytes on a connection to 127.0.0.1:port with a
/// reply of `reply` bytes, and the client's sequential round trips, both
/// with TCP_NODELAY (as CAF's connections). Forked from a process that may
/// run threads: the child makes system calls only (its buffer is the
/// parent's, made before the fork); with `hops.server` its writer is a
/// process of its own (forked from the child, so it starts no thread
/// there), woken through an eventfd as a thread would be through a futex.
class raw_ping_pong {
public:
  raw_ping_pong(uint64_t request, uint64_t reply, hand_offs hops = {})
    : request_(request), reply_(reply), hops_(hops), buffer_(new char[std::max(request, reply)]()),
      server_("the raw ping-pong", [request, reply, hops, buffer = buffer_.get()](int c) {
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        auto receive = [c, buffer, request] {
          return whole([c](char* p, uint64_t k) { return ::recv(c, p, k, 0); }, buffer, request);
        };
        auto answer = [c, buffer, reply] {
          return whole([c](char* p, uint64_t k) { return ::send(c, p, k, MSG_NOSIGNAL); }, buffer,
                       reply);
        };
        if (!hops.server) {
          while (receive() && answer()) {
          }
          return;
        }
        int ready = ::eventfd(0, EFD_CLOEXEC);
        pid_t writer = ::fork();
        if (writer == 0) {
          ::prctl(PR_SET_PDEATHSIG, SIGKILL);
          uint64_t n = 0;
          while (::read(ready, &n, sizeof(n)) == sizeof(n))
            for (; n > 0; --n)
              if (!answer())
                ::_exit(0);
          ::_exit(0);
        }
        uint64_t one_request = 1;
        while (receive() && ::write(ready, &one_request, sizeof(one_request)) > 0) {
        }
        ::kill(writer, SIGKILL);
        ::waitpid(writer, nullptr, 0);
        ::close(ready);
      }) {}

  /// Microseconds per round trip, the mean of `n` after a warm-up, on one
  /// connection.
  double round_trip_us(long n) const {
    auto us = round_trips_us(n);
    double sum = 0;
    for (auto x : us)
      sum += x;
    return sum / static_cast<double>(n);
  }

  /// Microseconds of each of `n` round trips after a warm-up, on one
  /// connection, in the order they ran.
  std::vector<double> round_trips_us(long n) const {
    int fd = connect_loopback(server_.port(), "the raw ping-pong");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto gone = [] {
      std::fprintf(stderr, "BUG: the raw ping-pong's peer went\n");
      std::exit(1);
    };
    // The reader thread's own buffer: the caller sends from `buffer_`.
    std::unique_ptr<char[]> replies{hops_.client ? new char[reply_] : nullptr};
    auto receive = [fd, this, into = hops_.client ? replies.get() : buffer_.get()] {
      return whole([fd](char* p, uint64_t k) { return ::recv(fd, p, k, 0); }, into, reply_);
    };
    // With `hops_.client`, a reader thread takes each reply and wakes the
    // caller through an eventfd.
    int arrived = hops_.client ? ::eventfd(0, EFD_CLOEXEC) : -1;
    std::thread reader;
    if (hops_.client)
      reader = std::thread{[&] {
        uint64_t one_reply = 1;
        while (receive() && ::write(arrived, &one_reply, sizeof(one_reply)) > 0) {
        }
        uint64_t end = uint64_t{1} << 40; // wakes a caller still waiting, which sees it
        (void)!::write(arrived, &end, sizeof(end));
      }};
    auto once = [&] {
      if (!whole([fd](char* p, uint64_t k) { return ::send(fd, p, k, MSG_NOSIGNAL); },
                 buffer_.get(), request_))
        gone();
      if (!hops_.client) {
        if (!receive())
          gone();
        return;
      }
      uint64_t got = 0;
      if (::read(arrived, &got, sizeof(got)) != sizeof(got) || got >= (uint64_t{1} << 40))
        gone();
    };
    for (int i = 0; i < 20; ++i)
      once();
    std::vector<double> us(static_cast<size_t>(n));
    for (auto& x : us) {
      auto start = std::chrono::steady_clock::now();
      once();
      x =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    }
    ::shutdown(fd, SHUT_RDWR);
    if (reader.joinable())
      reader.join();
    if (arrived >= 0)
      ::close(arrived);
    ::close(fd);
    return us;
  }

private:
  uint64_t request_;
  uint64_t reply_;
  hand_offs hops_;
  std::unique_ptr<char[]> buffer_;
  forked_server server_; ///< after buffer_: killed before it goes
};

} // namespace manta_tools
