#pragma once

// The floor of an object transfer on a link: a raw TCP stream of as many
// bytes between two processes, one socket, sends and receives of up to
// 4 MiB, nothing else (data_path_benchmark, cluster_benchmark).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace manta_tools {

/// A child process that streams `n` bytes of `data` to each connection on
/// 127.0.0.1:port, then closes it. Forked from a process that may run
/// threads: the child makes system calls only (no allocation).
class raw_stream_server {
public:
  raw_stream_server(const char* data, uint64_t n) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || ::listen(fd, 16) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::fprintf(stderr, "the raw stream cannot listen on 127.0.0.1\n");
      std::exit(1);
    }
    port_ = ntohs(addr.sin_port);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (;;) {
        int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0)
          continue;
        for (uint64_t at = 0; at < n;) {
          auto k = ::send(c, data + at, std::min<uint64_t>(n - at, uint64_t{4} << 20),
                          MSG_NOSIGNAL);
          if (k <= 0)
            break;
          at += static_cast<uint64_t>(k);
        }
        ::close(c);
      }
    }
    ::close(fd);
  }

  ~raw_stream_server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  raw_stream_server(const raw_stream_server&) = delete;
  raw_stream_server& operator=(const raw_stream_server&) = delete;

  /// Reads the whole stream into `out` (`n` bytes); seconds, from the
  /// connect to the last byte.
  double read(char* out, uint64_t n) const {
    auto start = std::chrono::steady_clock::now();
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::fprintf(stderr, "the raw stream cannot connect\n");
      std::exit(1);
    }
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
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

} // namespace manta_tools
