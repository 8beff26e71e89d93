#include "manta/detail/transfer_channel.hpp"

#include "manta/detail/data_path_tls.hpp"
#include "manta/detail/tls_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <optional>
#include <stdexcept>
#include <vector>

namespace manta::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

const char* handshake_hint = " (the holder does not use TLS, or its certificate and this "
                             "process's are not signed by the same CA)";

} // namespace

struct transfer_channel::impl {
  asio::io_context io{1};
  tcp::socket socket{io};
  std::unique_ptr<tls_session> tls;
  std::chrono::milliseconds stall{0};
  uint64_t moved = 0; ///< pieces read or written (progress)

  /// Runs the asynchronous step `start` begins (it calls `done(ec)` when
  /// finished; `moved` grows as bytes move) until it finishes; throws if
  /// it fails, or if nothing moved for `stall`.
  template <class Start>
  void bounded(const char* what, Start start, const char* hint = "") {
    std::optional<error_code> result;
    start([&](error_code ec) { result = ec; });
    auto seen = moved;
    for (;;) {
      io.restart();
      io.run_for(stall);
      if (result)
        break;
      if (moved == seen) {
        error_code ignored;
        socket.close(ignored); // ends the step with operation_aborted
        io.restart();
        io.run();
        throw std::runtime_error{std::string{what} + ": nothing moved for "
                                 + std::to_string(stall.count()) + " ms"};
      }
      seen = moved;
    }
    if (*result)
      throw std::runtime_error{std::string{what} + ": " + result->message() + hint};
  }

  /// Completion condition: counts progress, up to 4 MiB per system call.
  auto progress() {
    return [this](const error_code& ec, size_t) -> size_t {
      ++moved;
      return ec ? 0 : size_t{4} << 20;
    };
  }

  void write_plain(const asio::const_buffer* bufs, size_t count) {
    bounded("write", [&](auto done) {
      asio::async_write(socket, std::vector<asio::const_buffer>(bufs, bufs + count), progress(),
                        [done](error_code ec, size_t) { done(ec); });
    });
  }

  /// Waits (bounded) until the socket is ready as the TLS session asks.
  void wait(tls_session::result r, const char* what, const char* hint = "") {
    bounded(what, [&](auto done) {
      socket.async_wait(r == tls_session::want_read ? tcp::socket::wait_read
                                                    : tcp::socket::wait_write,
                        [done, this](error_code ec) {
                          ++moved;
                          done(ec);
                        });
    }, hint);
  }
};

transfer_channel::transfer_channel(const std::string& host, uint16_t port,
                                   std::shared_ptr<data_path_tls> tls,
                                   std::chrono::milliseconds stall)
  : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.stall = stall;
  tcp::endpoint ep{asio::ip::make_address(host), port};
  s.bounded("connect", [&](auto done) {
    s.socket.async_connect(ep, [done](error_code ec) { done(ec); });
  });
  // Requests go out at once (Nagle's algorithm would hold the second of
  // the two in flight for an ACK).
  error_code ignored;
  s.socket.set_option(tcp::no_delay(true), ignored);
  if (!tls)
    return;
  s.socket.non_blocking(true, ignored);
  s.tls = std::make_unique<tls_session>(*tls, tls_session::role::client,
                                        s.socket.native_handle());
  for (;;) {
    auto r = s.tls->handshake();
    if (r == tls_session::done)
      return;
    if (r == tls_session::failed)
      throw std::runtime_error{"TLS handshake: " + s.tls->error() + handshake_hint};
    s.wait(r, "TLS handshake", handshake_hint);
  }
}

transfer_channel::~transfer_channel() = default;

void transfer_channel::write(const void* a, size_t na, const void* b, size_t nb) {
  auto& s = *impl_;
  if (!s.tls) {
    std::array<asio::const_buffer, 2> bufs{asio::buffer(a, na), asio::buffer(b, nb)};
    s.write_plain(bufs.data(), bufs.size());
    return;
  }
  for (auto [p, n] : {std::pair{static_cast<const char*>(a), na},
                      std::pair{static_cast<const char*>(b), nb}}) {
    while (n > 0) {
      size_t written = 0;
      auto r = s.tls->write(p, n, written);
      if (r == tls_session::failed)
        throw std::runtime_error{"write: " + s.tls->error()};
      if (r != tls_session::done) {
        s.wait(r, "write");
        continue;
      }
      ++s.moved;
      p += written;
      n -= written;
    }
  }
  for (;;) {
    auto r = s.tls->flush();
    if (r == tls_session::done)
      return;
    if (r == tls_session::failed)
      throw std::runtime_error{"write: " + s.tls->error()};
    s.wait(r, "write");
  }
}

void transfer_channel::read(void* out, size_t n) {
  auto& s = *impl_;
  if (!s.tls) {
    s.bounded("read", [&](auto done) {
      asio::async_read(s.socket, asio::buffer(out, n), s.progress(),
                       [done](error_code ec, size_t) { done(ec); });
    });
    return;
  }
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    size_t got = 0;
    auto r = s.tls->read(p, n, got);
    if (r == tls_session::failed)
      throw std::runtime_error{"read: " + s.tls->error()};
    if (r != tls_session::done) {
      s.wait(r, "read");
      continue;
    }
    ++s.moved;
    p += got;
    n -= got;
  }
}

} // namespace manta::detail
