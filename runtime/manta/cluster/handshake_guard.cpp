#include "manta/cluster/handshake_guard.hpp"

#include "manta/observe/log_limiter.hpp"
#include "manta/observe/log_sink.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace manta::detail {

namespace {

using clock_type = std::chrono::steady_clock;

/// A session whose handshake is under way. `fd` is a duplicate of the
/// connection's descriptor: shutting it down ends the connection CAF holds,
/// and since it is ours it can never name another connection that reused
/// the number after CAF closed its own.
struct pending {
  int fd;
  clock_type::time_point deadline;
  bool shut = false;
};

void on_session_free(void* parent, void* ptr, CRYPTO_EX_DATA*, int, long, void*);

/// The shared state: a table, a watcher thread that ends overdue
/// handshakes, and the counters. Never destroyed: CAF may free sessions
/// while the process exits, after static destructors ran.
struct guard_state {
  std::mutex mtx;
  std::condition_variable cv;
  std::unordered_map<SSL*, pending> table;
  bool watching = false;
  std::atomic<size_t> timed_out{0};
  std::atomic<size_t> refused{0};
  int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, on_session_free);

  /// Removes `ssl`'s entry (the lock held).
  void forget(SSL* ssl) {
    auto i = table.find(ssl);
    if (i == table.end())
      return;
    ::close(i->second.fd);
    table.erase(i);
  }

  void watch() {
    std::unique_lock<std::mutex> lock{mtx};
    for (;;) {
      cv.wait_for(lock, std::chrono::milliseconds{100});
      auto now = clock_type::now();
      for (auto& [ssl, p] : table) {
        if (p.shut || p.deadline > now)
          continue;
        ::shutdown(p.fd, SHUT_RDWR);
        p.shut = true;
        timed_out.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
};

guard_state& state() {
  static auto* s = new guard_state;
  return *s;
}

/// Marks a session as admitted in its own data (any non-null pointer).
char admitted_mark;

void on_session_free(void* parent, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  if (ptr == nullptr)
    return;
  auto& s = state();
  std::lock_guard<std::mutex> guard{s.mtx};
  s.forget(static_cast<SSL*>(parent));
}

} // namespace

void handshake_refused(int fd) {
  // A burst of lines, then one per interval, each with the count left out.
  static log_limiter limiter{5, std::chrono::seconds{10}};
  uint64_t skipped = 0;
  if (!limiter.allow(skipped))
    return;
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  char host[INET6_ADDRSTRLEN] = "";
  unsigned port = 0;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
    if (peer.ss_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&peer);
      ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
      port = ntohs(in->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer);
      ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
      port = ntohs(in6->sin6_port);
    }
  }
  auto from = port != 0 ? std::string{host} + ":" + std::to_string(port)
                        : std::string{"a peer that already left"};
  detail::log_line(log_level::warning,
                   "manta (pid %d): refused a connection from %s: its TLS handshake failed (no "
                   "certificate of this cluster: a peer without the cluster token, one run with "
                   "--transport=plain, or not a Manta process)%s\n",
                   static_cast<int>(::getpid()), from.c_str(),
                   log_limiter::skipped_text(skipped).c_str());
}

bool admit_handshake(SSL* ssl, int fd, std::chrono::milliseconds timeout) {
  auto& s = state();
  std::lock_guard<std::mutex> guard{s.mtx};
  if (s.table.size() >= max_pending_handshakes) {
    s.refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    // Out of descriptors: refusing frees this one too.
    s.refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  s.table[ssl] = pending{copy, clock_type::now() + timeout};
  SSL_set_ex_data(ssl, s.index, &admitted_mark);
  if (!s.watching) {
    s.watching = true;
    std::thread{[&s] { s.watch(); }}.detach();
  }
  return true;
}

void handshake_progress(SSL* ssl) noexcept {
  auto& s = state();
  if (SSL_get_ex_data(ssl, s.index) == nullptr || !SSL_is_init_finished(ssl))
    return;
  SSL_set_ex_data(ssl, s.index, nullptr);
  std::lock_guard<std::mutex> guard{s.mtx};
  s.forget(ssl);
}

size_t pending_handshakes() noexcept {
  auto& s = state();
  std::lock_guard<std::mutex> guard{s.mtx};
  return s.table.size();
}

size_t handshakes_timed_out() noexcept {
  return state().timed_out.load(std::memory_order_relaxed);
}

size_t handshakes_refused() noexcept {
  return state().refused.load(std::memory_order_relaxed);
}

} // namespace manta::detail
