#include "manta/detail/transfer_channel.hpp"

#include "manta/detail/data_path_tls.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <optional>
#include <stdexcept>

namespace manta::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct transfer_channel::impl {
  asio::io_context io{1};
  tcp::socket socket{io};
  std::optional<asio::ssl::stream<tcp::socket&>> tls;
  std::chrono::milliseconds stall;
  uint64_t moved = 0; ///< pieces read or written (progress)

  /// Runs the asynchronous step `start` begins (it calls `done(ec)` when
  /// finished and bumps `moved` as bytes move) until it finishes; throws
  /// if it fails, or if nothing moved for `stall`.
  template <class Start>
  void bounded(const char* what, Start start) {
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

  /// Appended to the errors of the current step.
  const char* hint = "";

  /// Completion condition: counts progress, up to 4 MiB per system call.
  auto progress() {
    return [this](const error_code& ec, size_t) -> size_t {
      ++moved;
      return ec ? 0 : size_t{4} << 20;
    };
  }
};

transfer_channel::transfer_channel(const std::string& host, uint16_t port,
                                   std::shared_ptr<data_path_tls> tls,
                                   std::chrono::milliseconds stall)
  : impl_(std::make_unique<impl>()) {
  impl_->stall = stall;
  tcp::endpoint ep{asio::ip::make_address(host), port};
  impl_->bounded("connect", [&](auto done) {
    impl_->socket.async_connect(ep, [done](error_code ec) { done(ec); });
  });
  if (!tls)
    return;
  impl_->tls.emplace(impl_->socket, tls->context());
  impl_->hint = " (the holder does not use TLS, or its certificate and this process's are not "
                "signed by the same CA)";
  impl_->bounded("TLS handshake", [&](auto done) {
    impl_->tls->async_handshake(asio::ssl::stream_base::client,
                                [done](error_code ec) { done(ec); });
  });
  impl_->hint = "";
}

transfer_channel::~transfer_channel() = default;

void transfer_channel::write(const void* a, size_t na, const void* b, size_t nb) {
  std::array<asio::const_buffer, 2> bufs{asio::buffer(a, na), asio::buffer(b, nb)};
  impl_->bounded("write", [&](auto done) {
    auto handler = [done](error_code ec, size_t) { done(ec); };
    if (impl_->tls)
      asio::async_write(*impl_->tls, bufs, impl_->progress(), handler);
    else
      asio::async_write(impl_->socket, bufs, impl_->progress(), handler);
  });
}

void transfer_channel::read(void* out, size_t n) {
  impl_->bounded("read", [&](auto done) {
    auto handler = [done](error_code ec, size_t) { done(ec); };
    if (impl_->tls)
      asio::async_read(*impl_->tls, asio::buffer(out, n), impl_->progress(), handler);
    else
      asio::async_read(impl_->socket, asio::buffer(out, n), impl_->progress(), handler);
  });
}

} // namespace manta::detail
