#pragma once

#include <cstddef>
#include <string>

using SSL = struct ssl_st;
using BIO = struct bio_st;

/// One TLS connection of the raw data path: OpenSSL on the connection's
/// non-blocking socket, driven by the caller's event loop (the transfer
/// server's, object_transfer.cpp; a reader's, fetch_connection.cpp).
namespace manta::detail {

class data_path_tls;

/// OpenSSL on the socket rather than Boost.Asio's ssl::stream, whose fixed
/// 17 KiB buffers take one socket read, one write and one handler per
/// 16 KiB record plus copies through a BIO pair: on this project's loaded
/// 2-core machines each handler waited for a CPU and TLS reached a sixth of
/// plain TCP. Here records go out 256 KiB per send and come in 256 KiB per
/// recv (tls_session.cpp), and the loop only waits when the socket would
/// block.
class tls_session {
public:
  enum class role { client, server };

  /// Outcome of a step: finished, or wait until the socket is readable
  /// (writable) and try again, or failed (see `error`).
  enum result { done, want_read, want_write, failed };

  /// A session on socket `fd` (non-blocking; the caller keeps it open).
  tls_session(data_path_tls& tls, role r, int fd);
  ~tls_session();

  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  result handshake();

  /// Encrypts some of [data, data + n) (at least one record when `done`)
  /// and sends it, or buffers it until `flush`; `written` says how much.
  result write(const void* data, size_t n, size_t& written);

  /// Sends what `write` buffered (`done` once all of it went).
  result flush();

  /// Receives and decrypts up to `n` bytes into `out`; `got` says how many.
  result read(void* out, size_t n, size_t& got);

  /// What went wrong (OpenSSL's reasons), after `failed`.
  const std::string& error() const noexcept { return error_; }

private:
  result outcome(int ret);

  SSL* ssl_ = nullptr;
  BIO* bio_ = nullptr; ///< owned by ssl_
  std::string error_;
};

} // namespace manta::detail
