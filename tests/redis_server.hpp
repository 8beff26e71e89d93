#pragma once

// A redis-server of the test's own (the head store's tests,
// docs/cluster.md "Head fault tolerance"): on a free loopback port, its
// files in a temporary folder, no persistence; stopped and removed when the
// object goes. Tests skip (exit code 77) where redis-server is missing.

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace manta_test {

/// Whether redis-server can be run here.
inline bool redis_available() {
  return std::system("command -v redis-server >/dev/null 2>&1") == 0;
}

/// Exits with 77 (meson's skip) and says why, unless redis-server is there.
inline void require_redis_or_skip(const char* test) {
  if (redis_available())
    return;
  std::fprintf(stderr,
               "%s: skipped: redis-server is not installed (tools/setup.sh installs "
               "Debian's redis-server)\n",
               test);
  std::exit(77);
}

/// A loopback port nobody listens on now (the kernel's pick).
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("free_port: no loopback port");
  ::close(fd);
  return ntohs(a.sin_port);
}

class redis_server {
public:
  /// Starts it and waits (at most 10 s) until it answers PING.
  redis_server() : port_(free_port()) {
    char tmpl[] = "/tmp/manta-redis-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("redis_server: cannot create a folder under /tmp");
    dir_ = tmpl;
    start();
  }

  ~redis_server() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  uint16_t port() const { return port_; }
  std::string url(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }
  const std::string& dir() const { return dir_; }

  /// Starts it again on its port (after `stop`).
  void start() {
    auto port = std::to_string(port_);
    auto log = dir_ + "/redis.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--dir", dir_.c_str(), "--save", "", "--appendonly", "no", "--logfile", log.c_str(),
               "--daemonize", "no", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!answers()) {
      if (std::chrono::steady_clock::now() > until || ::waitpid(pid_, nullptr, WNOHANG) != 0)
        throw std::runtime_error("redis_server: redis-server did not answer on port " + port
                                 + " within 10 s; see " + log);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  /// Stops it (SIGKILL: no goodbye) and reaps it.
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

  /// Whether it answers PING now (each try bounded by 200 ms).
  bool answers() const {
    timeval tv{0, 200000};
    auto* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    bool ok = c != nullptr && c->err == 0;
    if (ok) {
      redisSetTimeout(c, tv);
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
      if (r)
        freeReplyObject(r);
    }
    if (c)
      redisFree(c);
    return ok;
  }

private:
  uint16_t port_;
  std::string dir_;
  pid_t pid_ = 0;
};

} // namespace manta_test
