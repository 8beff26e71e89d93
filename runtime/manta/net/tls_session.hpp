#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

using SSL = struct ssl_st;
using BIO = struct bio_st;

/// One TLS connection of the raw data path: OpenSSL on the connection's
/// non-blocking socket, driven by the caller's event loop (the transfer
/// server's, object_transfer.cpp; a reader's, fetch_connection.cpp).
namespace manta::detail {

class data_path_tls;

class tls_records;
struct socket_buffers;

/// OpenSSL on the socket rather than Boost.Asio's ssl::stream, whose fixed
/// 17 KiB buffers take one socket read, one write and one handler per
/// 16 KiB record plus copies through a BIO pair: on this project's loaded
/// 2-core machines each handler waited for a CPU and TLS reached a sixth of
/// plain TCP. OpenSSL runs the handshake (both certificates checked against
/// the cluster's CA); the application data records after it are sealed and
/// opened here (tls_records.hpp), straight between the caller's memory and
/// the socket buffers: records go out 256 KiB per send and come in up to
/// 256 KiB per recv, and the loop only waits when the socket would block.
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
  /// Records that fit go straight into `out`, so bytes of it past `got`
  /// may have been written.
  result read(void* out, size_t n, size_t& got);

  /// True once the session's keys sealed or opened so many records that
  /// the connection should not take another request (AES-GCM's key limit,
  /// tls_records::retire_after; 128 GiB at full records).
  bool worn() const noexcept;
  /// Records sealed, and opened, with the session's keys so far (0 before
  /// the handshake): a task lane's driver retires the lane before either
  /// reaches the key's limit (task_lane.hpp, `client::worn`).
  uint64_t sealed_records() const noexcept;
  uint64_t opened_records() const noexcept;

  /// What went wrong (OpenSSL's reasons), after `failed`.
  const std::string& error() const noexcept { return error_.empty() ? write_error_ : error_; }

  /// A task lane (task_lane_tls.hpp) reads on one thread while another
  /// writes, each under its own discipline: the two directions keep their
  /// own errors (the handshake's are the read side's), so neither writes
  /// the other's.
  const std::string& read_error() const noexcept { return error_; }
  const std::string& write_error() const noexcept { return write_error_; }
  /// After a failed `read`: the socket closed or failed (not a record that
  /// did not open, an alert or a wrong record).
  bool connection_ended() const noexcept { return connection_ended_; }

  /// Called by OpenSSL (the key log callback, `capture_traffic_secret`)
  /// with a secret of this session's handshake.
  void secret(const char* line);

private:
  result outcome(int ret);
  /// After the handshake: the record keys from the captured secrets.
  result start_records();
  /// Sends what is buffered (see send_buffered in tls_session.cpp).
  result send_out();

  SSL* ssl_ = nullptr;
  BIO* bio_ = nullptr;           ///< owned by ssl_
  socket_buffers* bufs_ = nullptr; ///< owned by bio_
  bool server_ = false;
  std::unique_ptr<tls_records> records_;
  std::string client_secret_;
  std::string server_secret_;
  /// The content of a record larger than what a read asked for.
  std::unique_ptr<char[]> plain_;
  size_t plain_pos_ = 0;
  size_t plain_end_ = 0;
  std::string error_;       ///< the handshake's, reads'
  std::string write_error_; ///< writes'
  bool connection_ended_ = false;
};

/// OpenSSL's key log callback on the data path's context
/// (data_path_tls.cpp): hands the session of `ssl` its application traffic
/// secrets, from which it derives the record keys. Nothing is logged.
void capture_traffic_secret(const SSL* ssl, const char* line);

} // namespace manta::detail
