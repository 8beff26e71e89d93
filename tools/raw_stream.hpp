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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
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

/// The floor of a round trip on a link: a child process that answers each
/// request of `request` bytes on a connection to 127.0.0.1:port with a
/// reply of `reply` bytes, and the client's sequential round trips, both
/// with TCP_NODELAY (as CAF's connections). Forked from a process that may
/// run threads: the child makes system calls only (its buffer is the
/// parent's, made before the fork).
class raw_ping_pong {
public:
  raw_ping_pong(uint64_t request, uint64_t reply)
    : request_(request), reply_(reply), buffer_(new char[std::max(request, reply)]()),
      server_("the raw ping-pong", [request, reply, buffer = buffer_.get()](int c) {
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        while (whole([c](char* p, uint64_t k) { return ::recv(c, p, k, 0); }, buffer, request)
               && whole([c](char* p, uint64_t k) { return ::send(c, p, k, MSG_NOSIGNAL); }, buffer,
                        reply)) {
        }
      }) {}

  /// Microseconds per round trip, the mean of `n` after a warm-up, on one
  /// connection.
  double round_trip_us(long n) const {
    int fd = connect_loopback(server_.port(), "the raw ping-pong");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto once = [&] {
      if (!whole([fd](char* p, uint64_t k) { return ::send(fd, p, k, MSG_NOSIGNAL); },
                 buffer_.get(), request_)
          || !whole([fd](char* p, uint64_t k) { return ::recv(fd, p, k, 0); }, buffer_.get(),
                    reply_)) {
        std::fprintf(stderr, "BUG: the raw ping-pong's peer went\n");
        std::exit(1);
      }
    };
    for (int i = 0; i < 20; ++i)
      once();
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i)
      once();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::close(fd);
    return s * 1e6 / static_cast<double>(n);
  }

private:
  uint64_t request_;
  uint64_t reply_;
  std::unique_ptr<char[]> buffer_;
  forked_server server_; ///< after buffer_: killed before it goes
};

} // namespace manta_tools
