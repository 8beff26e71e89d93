// Readers keep data path connections between reads (connection_pool.hpp):
// sequential reads of a holder use one connection, plain and TLS; idle
// connections close after their timeout; a connection the holder closed,
// or closes as the next request goes out, costs the next read nothing but
// a fresh connection; every request on a kept connection shows the token;
// at its cap a holder makes room by closing a reader's idle connection.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN

#include <doctest/doctest.h>

#include <manta/cluster/cluster_tls.hpp>
#include <manta/net/connection_pool.hpp>
#include <manta/net/data_path_tls.hpp>
#include <manta/net/fetch_loop.hpp>
#include <manta/store/held_objects.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/net/object_transfer.hpp>
#include <manta/net/tls_session.hpp>
#include <manta/net/transfer_protocol.hpp>

#include "tests/byte_pattern.hpp"
#include "tests/loopback_socket.hpp"
#include "tests/wait_for.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace manta::detail;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

const std::string token = "reuse-token";

using manta_test::wait_for;

/// A transfer server holding object 7.
struct holder {
  std::shared_ptr<std::vector<char>> bytes;
  transfer_server server;
  holder(size_t n, std::shared_ptr<data_path_tls> tls, transfer_limits limits = {})
    : bytes(manta_test::pattern(n)), server{"127.0.0.1", token,
                                            [b = bytes](uint64_t id) -> std::optional<held_bytes> {
                                              if (id != 7)
                                                return std::nullopt;
                                              return held_bytes{b, b->data(), b->size(), nullptr};
                                            },
                                            std::move(tls), limits} {}
  uint16_t port() const { return server.port(); }
};

/// The TLS the cases run with: null (plain TCP), or the identity made from
/// a token (what a cluster uses by default).
struct transport {
  std::shared_ptr<data_path_tls> tls;
  explicit transport(bool secure) {
    if (!secure)
      return;
    std::string err;
    auto id = token_identity::make(std::string(64, 'r'), err);
    REQUIRE(id);
    tls = data_path_tls::from_identity(*id);
    REQUIRE(tls);
  }
};

std::string read(uint16_t port, size_t size, std::vector<char>& out,
                 const std::shared_ptr<data_path_tls>& tls, int streams = 1,
                 const std::string& tok = token) {
  return fetch_object({{"127.0.0.1", port}}, tok, 7, size, out, streams, nullptr, tls);
}

holder_key key_of(uint16_t port, const std::shared_ptr<data_path_tls>& tls) {
  return {"127.0.0.1", port, tls.get()};
}

/// Restores the pool's limits at the end of a case.
struct pool_limits_guard {
  connection_pool::limits saved = fetch_loop::instance().pool().current_limits();
  ~pool_limits_guard() { fetch_loop::instance().pool().set_limits(saved); }
};

// -- a holder that hangs up on a kept connection ------------------------------------

/// Blocking reads and writes on one accepted connection, plain or TLS
/// (OpenSSL on the non-blocking socket, waiting with poll).
struct peer_io {
  int fd;
  std::unique_ptr<tls_session> tls;

  bool wait(tls_session::result r) {
    pollfd p{fd, static_cast<short>(r == tls_session::want_read ? POLLIN : POLLOUT), 0};
    return ::poll(&p, 1, 5000) > 0;
  }
  bool handshake() {
    for (;;) {
      auto r = tls->handshake();
      if (r == tls_session::done)
        return true;
      if (r == tls_session::failed || !wait(r))
        return false;
    }
  }
  /// Moves the `n` bytes at `at` one step at a time: `tls_step` (a TLS read
  /// or write) or, on a plain connection, `plain_step` (a recv or send)
  /// once poll says `events`; false if a step fails or waits 5 s in vain.
  template <class Byte, class TlsStep, class PlainStep>
  bool move_all(Byte* at, size_t n, short events, TlsStep tls_step, PlainStep plain_step) {
    while (n > 0) {
      size_t moved = 0;
      if (tls) {
        auto r = tls_step(at, n, moved);
        if (r == tls_session::failed || (r != tls_session::done && !wait(r)))
          return false;
      } else {
        pollfd pf{fd, events, 0};
        if (::poll(&pf, 1, 5000) <= 0)
          return false;
        auto k = plain_step(at, n);
        if (k <= 0)
          return false;
        moved = static_cast<size_t>(k);
      }
      at += moved;
      n -= moved;
    }
    return true;
  }
  bool read_exact(void* p, size_t n) {
    return move_all(
      static_cast<char*>(p), n, POLLIN,
      [&](char* at, size_t len, size_t& got) { return tls->read(at, len, got); },
      [&](char* at, size_t len) { return ::recv(fd, at, len, 0); });
  }
  bool write_all(const void* p, size_t n) {
    if (!move_all(
          static_cast<const char*>(p), n, POLLOUT,
          [&](const char* at, size_t len, size_t& put) { return tls->write(at, len, put); },
          [&](const char* at, size_t len) { return ::send(fd, at, len, MSG_NOSIGNAL); }))
      return false;
    while (tls) {
      auto r = tls->flush();
      if (r == tls_session::done)
        break;
      if (r == tls_session::failed || !wait(r))
        return false;
    }
    return true;
  }
};

/// Serves object 7 speaking the data path protocol itself, one connection
/// at a time, and on every connection reads its second request and hangs
/// up without answering: what a reader sees when a holder closes a kept
/// connection (restarts, times it out) just as the next request goes out,
/// after the reader checked the connection was still open.
struct hanging_up_holder {
  std::shared_ptr<std::vector<char>> bytes;
  std::shared_ptr<data_path_tls> tls;
  int listener = -1;
  uint16_t port = 0;
  std::atomic<int> accepted{0};
  std::atomic<int> hung_up{0};
  std::atomic<bool> stopping{false};
  std::thread thread;

  hanging_up_holder(size_t n, std::shared_ptr<data_path_tls> t)
    : bytes(manta_test::pattern(n)), tls(std::move(t)) {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(listener, 16) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    thread = std::thread{[this] { run(); }};
  }

  ~hanging_up_holder() {
    stopping = true;
    ::shutdown(listener, SHUT_RDWR); // wakes the poll below
    thread.join();
    ::close(listener);
  }

  void run() {
    while (!stopping) {
      pollfd p{listener, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      ++accepted;
      serve(fd);
      ::close(fd);
    }
  }

  void serve(int fd) {
    peer_io io{fd, nullptr};
    if (tls) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      io.tls = std::make_unique<tls_session>(*tls, tls_session::role::server, fd);
      if (!io.handshake())
        return;
    }
    for (int k = 0; !stopping; ++k) {
      transfer_protocol::request req{};
      std::string tok(64, '\0');
      if (!io.read_exact(&req, sizeof(req)) || req.token_len > tok.size())
        return;
      if (!io.read_exact(tok.data(), req.token_len))
        return;
      if (k == 1) {
        ++hung_up;
        return; // the second request on this connection: hangs up
      }
      auto n = std::min<uint64_t>(req.length, bytes->size() - req.offset);
      transfer_protocol::answer a{transfer_protocol::ok, 0, n};
      if (!io.write_all(&a, sizeof(a)) || !io.write_all(bytes->data() + req.offset, n))
        return;
    }
  }
};

void sequential_reads_share_one_connection(bool secure) {
  transport t{secure};
  holder h{(1u << 20) + 99, t.tls};
  auto reused_before = fetch_loop::instance().pool().reused();
  constexpr int reads = 10;
  for (int i = 0; i < reads; ++i) {
    std::vector<char> out;
    REQUIRE(read(h.port(), h.bytes->size(), out, t.tls) == "");
    REQUIRE(out == *h.bytes);
  }
  // One connection served them all: the first read's, kept and taken again.
  CHECK(h.server.accepted() == 1);
  CHECK(fetch_loop::instance().pool().reused() - reused_before == reads - 1);
  CHECK(fetch_loop::instance().pool().idle(key_of(h.port(), t.tls)) == 1);
  // A read over two connections (40 MiB: two streams) keeps both.
  holder big{(40u << 20) + 5, t.tls};
  for (int i = 0; i < 3; ++i) {
    std::vector<char> out;
    REQUIRE(read(big.port(), big.bytes->size(), out, t.tls, 2) == "");
    REQUIRE(out == *big.bytes);
  }
  CHECK(big.server.accepted() == 2);
  CHECK(fetch_loop::instance().pool().idle(key_of(big.port(), t.tls)) == 2);
}

void idle_connections_close(bool secure) {
  transport t{secure};
  pool_limits_guard restore;
  auto limits = restore.saved;
  limits.idle_timeout = 300ms;
  fetch_loop::instance().pool().set_limits(limits);
  holder h{100'000, t.tls};
  std::vector<char> out;
  auto before = steady::now(); // the connection is kept after this
  REQUIRE(read(h.port(), h.bytes->size(), out, t.tls) == "");
  CHECK(out == *h.bytes);
  // The reader closes its idle connection after 300 ms (the holder's own
  // idle timeout is 30 s): the holder sees it go.
  CHECK(wait_for([&] { return h.server.connections() == 0; }, 10s));
  CHECK(steady::now() - before >= 300ms);
  CHECK(fetch_loop::instance().pool().idle(key_of(h.port(), t.tls)) == 0);
  // The next read connects again.
  REQUIRE(read(h.port(), h.bytes->size(), out, t.tls) == "");
  CHECK(out == *h.bytes);
  CHECK(h.server.accepted() == 2);
}

void holder_closed_the_kept_connection(bool secure) {
  transport t{secure};
  transfer_limits limits;
  limits.idle_timeout = 200ms; // the holder closes idle connections first
  holder h{(1u << 20) + 3, t.tls, limits};
  std::vector<char> out;
  REQUIRE(read(h.port(), h.bytes->size(), out, t.tls) == "");
  REQUIRE(fetch_loop::instance().pool().idle(key_of(h.port(), t.tls)) == 1);
  CHECK(wait_for([&] { return h.server.connections() == 0; }, 10s));
  out.clear();
  CHECK(read(h.port(), h.bytes->size(), out, t.tls) == "");
  CHECK(out == *h.bytes);
  CHECK(h.server.accepted() == 2);
}

void holder_hangs_up_on_the_next_request(bool secure) {
  transport t{secure};
  hanging_up_holder h{(1u << 20) + 11, t.tls};
  for (int i = 0; i < 4; ++i) {
    std::vector<char> out;
    // Read 2 on takes read 1's connection, whose holder hangs up on the
    // request: the read goes on over a fresh connection.
    REQUIRE(read(h.port, h.bytes->size(), out, t.tls) == "");
    CHECK(out == *h.bytes);
  }
  // Every read after the first: one request on a kept connection (hung
  // up), then a fresh one.
  CHECK(h.hung_up.load() == 3);
  CHECK(h.accepted.load() == 4);
}

/// Sends one request on `fd` and reads its answer's header and message.
transfer_protocol::answer ask(int fd, uint64_t length, const std::string& tok,
                              std::string& message) {
  transfer_protocol::request r{transfer_protocol::magic, static_cast<uint32_t>(tok.size()), 7, 0,
                               length};
  std::string wire(reinterpret_cast<const char*>(&r), sizeof(r));
  wire += tok;
  REQUIRE(::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(wire.size()));
  transfer_protocol::answer a{};
  REQUIRE(::recv(fd, &a, sizeof(a), MSG_WAITALL) == sizeof(a));
  message.assign(a.message_len, '\0');
  if (a.message_len > 0)
    REQUIRE(::recv(fd, message.data(), message.size(), MSG_WAITALL) == a.message_len);
  return a;
}

bool closed_by_peer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0)
    return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

} // namespace

TEST_CASE("sequential reads of a holder share one connection, plain TCP") {
  sequential_reads_share_one_connection(false);
}

TEST_CASE("sequential reads of a holder share one connection, TLS") {
  sequential_reads_share_one_connection(true);
}

TEST_CASE("an idle connection is closed after its timeout, plain TCP") {
  idle_connections_close(false);
}

TEST_CASE("an idle connection is closed after its timeout, TLS") {
  idle_connections_close(true);
}

TEST_CASE("a kept connection the holder closed: the next read connects again, plain TCP") {
  holder_closed_the_kept_connection(false);
}

TEST_CASE("a kept connection the holder closed: the next read connects again, TLS") {
  holder_closed_the_kept_connection(true);
}

TEST_CASE("a holder hanging up on the request of a kept connection: one fresh retry, plain TCP") {
  holder_hangs_up_on_the_next_request(false);
}

TEST_CASE("a holder hanging up on the request of a kept connection: one fresh retry, TLS") {
  holder_hangs_up_on_the_next_request(true);
}

TEST_CASE("every request on a kept connection shows the token") {
  holder h{50'000, nullptr};
  // On one connection: a request with the token is served, the next one
  // without it is refused and the connection closed.
  int fd = manta_test::tcp_connect(h.port());
  REQUIRE(fd >= 0);
  std::string message;
  auto a = ask(fd, 1000, token, message);
  REQUIRE(a.status == transfer_protocol::ok);
  std::vector<char> data(a.length);
  REQUIRE(::recv(fd, data.data(), data.size(), MSG_WAITALL) == static_cast<ssize_t>(data.size()));
  auto refused = h.server.refused();
  a = ask(fd, 1000, std::string(token.size(), 'x'), message);
  CHECK(a.status == transfer_protocol::refused_status);
  CHECK(a.length == 0);
  CHECK(message == "wrong cluster token");
  CHECK(wait_for([&] { return closed_by_peer(fd); }, 5s));
  CHECK(h.server.refused() == refused + 1);
  ::close(fd);
  // A reader with a wrong token that takes a kept connection (which showed
  // the right one) is refused all the same.
  std::vector<char> out;
  REQUIRE(read(h.port(), h.bytes->size(), out, nullptr) == "");
  REQUIRE(fetch_loop::instance().pool().idle(key_of(h.port(), nullptr)) == 1);
  auto why = read(h.port(), h.bytes->size(), out, nullptr, 1, "not-the-token");
  CHECK(why.find("wrong cluster token") != std::string::npos);
  CHECK(fetch_loop::instance().pool().idle(key_of(h.port(), nullptr)) == 0);
  CHECK(h.server.refused() == refused + 2);
}

TEST_CASE("at its cap a holder closes a reader's idle connection for a newcomer") {
  transfer_limits limits;
  limits.max_connections = 1;
  holder h{50'000, nullptr, limits};
  REQUIRE(h.server.max_connections() == 1);
  std::vector<char> out;
  REQUIRE(read(h.port(), h.bytes->size(), out, nullptr) == "");
  REQUIRE(h.server.connections() == 1); // the reader's, kept
  // A newcomer with the token is turned away while the kept connection has
  // been idle for less than a second, then served in its place.
  bool served = false;
  CHECK(wait_for(
    [&] {
      int fd = manta_test::tcp_connect(h.port());
      if (fd < 0)
        return false;
      transfer_protocol::request r{transfer_protocol::magic, static_cast<uint32_t>(token.size()), 7,
                                   0, 100};
      std::string wire(reinterpret_cast<const char*>(&r), sizeof(r));
      wire += token;
      ::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
      transfer_protocol::answer a{};
      served = ::recv(fd, &a, sizeof(a), MSG_WAITALL) == sizeof(a) && a.status == 0;
      ::close(fd);
      return served;
    },
    10s));
  CHECK(served);
  CHECK(h.server.dropped() >= 1);
  // The reader's kept connection is gone: its next read connects again.
  CHECK(wait_for([&] { return h.server.connections() == 0; }, 5s));
  out.clear();
  CHECK(read(h.port(), h.bytes->size(), out, nullptr) == "");
  CHECK(out == *h.bytes);
}
