#include "manta/net/tls_session.hpp"

#include "manta/net/data_path_tls.hpp"
#include "manta/net/tls_records.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include <sys/socket.h>

namespace manta::detail {

namespace {

// -- a buffered socket BIO that never raises SIGPIPE -------------------------------
// OpenSSL's own socket BIO writes with write(2): a peer that hangs up while
// the node sends would kill the process with SIGPIPE. This one uses
// send(MSG_NOSIGNAL), and batches: records written go out in one send of
// up to `out_cap` bytes (at a flush, or when the buffer is full), and one
// recv takes up to `in_cap` bytes. Each 16 KiB record in a system call of
// its own cost more CPU than its encryption. OpenSSL reads and writes the
// handshake through it; the session's own records (tls_records.hpp) use
// the same two buffers directly.

} // namespace

struct socket_buffers {
  socket_buffers(int f, size_t in_max, size_t out_max) : fd(f), in_cap(in_max), out_cap(out_max) {}
  int fd;
  size_t in_cap;
  size_t out_cap;
  std::unique_ptr<char[]> in; ///< allocated at the first recv
  size_t in_pos = 0;
  size_t in_end = 0;
  std::unique_ptr<char[]> out; ///< allocated at the first write
  size_t out_pos = 0;
  size_t out_end = 0;

  char* in_buffer() {
    if (!in)
      in.reset(new char[in_cap]);
    return in.get();
  }

  char* out_buffer() {
    if (!out)
      out.reset(new char[out_cap]);
    return out.get();
  }
};

namespace {

socket_buffers& buffers_of(BIO* b) {
  return *static_cast<socket_buffers*>(BIO_get_data(b));
}

bool would_block() {
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/// Sends what is buffered: 1 when all of it went out, else 0 (retry when
/// writable) or -1 (failed).
int send_buffered(socket_buffers& s) {
  while (s.out_pos < s.out_end) {
    auto k = ::send(s.fd, s.out.get() + s.out_pos, s.out_end - s.out_pos, MSG_NOSIGNAL);
    if (k < 0)
      return would_block() ? 0 : -1;
    s.out_pos += static_cast<size_t>(k);
  }
  s.out_pos = 0;
  s.out_end = 0;
  return 1;
}

int send_buffered(BIO* b) {
  auto r = send_buffered(buffers_of(b));
  if (r == 0)
    BIO_set_retry_write(b);
  return r;
}

/// Receives what fits after the unread bytes (moved to the front first):
/// the bytes received, 0 when the peer closed, -1 with errno set.
ssize_t receive(socket_buffers& s) {
  auto* in = s.in_buffer();
  if (s.in_pos > 0) {
    std::memmove(in, in + s.in_pos, s.in_end - s.in_pos);
    s.in_end -= s.in_pos;
    s.in_pos = 0;
  }
  auto k = ::recv(s.fd, in + s.in_end, s.in_cap - s.in_end, 0);
  if (k > 0)
    s.in_end += static_cast<size_t>(k);
  return k;
}

int bio_write(BIO* b, const char* data, int n) {
  BIO_clear_retry_flags(b);
  auto& s = buffers_of(b);
  if (s.out_end >= s.out_cap) {
    auto r = send_buffered(b);
    if (r <= 0)
      return -1; // retry flag set when it would block
  }
  auto k = std::min(static_cast<size_t>(n), s.out_cap - s.out_end);
  std::memcpy(s.out_buffer() + s.out_end, data, k);
  s.out_end += k;
  return static_cast<int>(k);
}

int bio_read(BIO* b, char* data, int n) {
  BIO_clear_retry_flags(b);
  auto& s = buffers_of(b);
  if (s.in_pos == s.in_end) {
    auto k = receive(s);
    if (k <= 0) {
      if (k < 0 && would_block())
        BIO_set_retry_read(b);
      return static_cast<int>(k); // 0: the peer closed
    }
  }
  auto k = std::min(static_cast<size_t>(n), s.in_end - s.in_pos);
  std::memcpy(data, s.in.get() + s.in_pos, k);
  s.in_pos += k;
  return static_cast<int>(k);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  if (cmd == BIO_CTRL_FLUSH) {
    BIO_clear_retry_flags(b);
    return send_buffered(b) == 1 ? 1 : 0;
  }
  if (cmd == BIO_CTRL_WPENDING)
    return static_cast<long>(buffers_of(b).out_end - buffers_of(b).out_pos);
  if (cmd == BIO_CTRL_PENDING)
    return static_cast<long>(buffers_of(b).in_end - buffers_of(b).in_pos);
  return 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  delete static_cast<socket_buffers*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "manta data path socket");
    if (m == nullptr)
      return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return method;
}

/// The SSL's slot holding its tls_session (for the key log callback).
int session_index() {
  static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

/// "0a1b..." into its bytes; empty if it is not an even run of hex digits.
std::string from_hex(std::string_view hex) {
  std::string out;
  if (hex.size() % 2 != 0)
    return out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = OPENSSL_hexchar2int(static_cast<unsigned char>(hex[i]));
    int lo = OPENSSL_hexchar2int(static_cast<unsigned char>(hex[i + 1]));
    if (hi < 0 || lo < 0)
      return {};
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

} // namespace

void capture_traffic_secret(const SSL* ssl, const char* line) {
  if (auto* session = static_cast<tls_session*>(SSL_get_ex_data(ssl, session_index())))
    session->secret(line);
}

tls_session::tls_session(data_path_tls& tls, role r, int fd) : server_(r == role::server) {
  auto* method = socket_method();
  ssl_ = SSL_new(tls.context().native_handle());
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (ssl_ == nullptr || bio == nullptr || session_index() < 0
      || SSL_set_ex_data(ssl_, session_index(), this) != 1) {
    BIO_free(bio);
    SSL_free(ssl_);
    throw std::runtime_error{"OpenSSL cannot make a TLS session (out of memory)"};
  }
  // A server reads small requests and writes large answers; a reader the
  // other way round. Either holds at least one whole record of its peer's
  // (a record is opened only once all of it is here) and of its own.
  // Buffers are allocated when bytes first pass.
  bufs_ = new socket_buffers{fd, server_ ? size_t{32} << 10 : size_t{256} << 10,
                             server_ ? size_t{256} << 10 : size_t{32} << 10};
  BIO_set_data(bio, bufs_);
  bio_ = bio;
  SSL_set_bio(ssl_, bio, bio); // the session owns it now
  if (server_)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

tls_session::~tls_session() {
  SSL_free(ssl_);
  OPENSSL_cleanse(client_secret_.data(), client_secret_.size());
  OPENSSL_cleanse(server_secret_.data(), server_secret_.size());
}

void tls_session::secret(const char* line) {
  // "LABEL <client random, hex> <secret, hex>" (NSS key log format).
  std::string_view text{line};
  auto first = text.find(' ');
  auto second = first == std::string_view::npos ? first : text.find(' ', first + 1);
  if (second == std::string_view::npos)
    return;
  auto label = text.substr(0, first);
  std::string* to = label == "CLIENT_TRAFFIC_SECRET_0"   ? &client_secret_
                    : label == "SERVER_TRAFFIC_SECRET_0" ? &server_secret_
                                                         : nullptr;
  if (to != nullptr)
    *to = from_hex(text.substr(second + 1));
}

bool tls_session::worn() const noexcept {
  return records_ && records_->records() >= tls_records::retire_after;
}

uint64_t tls_session::sealed_records() const noexcept {
  return records_ ? records_->sealed() : 0;
}

uint64_t tls_session::opened_records() const noexcept {
  return records_ ? records_->opened() : 0;
}

tls_session::result tls_session::outcome(int ret) {
  auto code = SSL_get_error(ssl_, ret);
  switch (code) {
    case SSL_ERROR_WANT_READ:
      return want_read;
    case SSL_ERROR_WANT_WRITE:
      return want_write;
    case SSL_ERROR_ZERO_RETURN:
      error_ = "the peer closed the TLS session";
      return failed;
    default:
      break;
  }
  error_.clear();
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    // "error:0A000086:SSL routines::certificate verify failed": the reason.
    std::string text = buf;
    auto at = text.rfind(':');
    if (!error_.empty())
      error_ += "; ";
    error_ += at == std::string::npos ? text : text.substr(at + 1);
  }
  if (error_.empty())
    error_ = code == SSL_ERROR_SYSCALL && errno != 0 ? std::strerror(errno)
                                                     : "the peer closed the connection";
  return failed;
}

// OpenSSL's error queue is per thread: each step clears it first, so it
// reads only its own errors.

tls_session::result tls_session::handshake() {
  ERR_clear_error();
  errno = 0;
  int ret = SSL_do_handshake(ssl_);
  return ret == 1 ? start_records() : outcome(ret);
}

tls_session::result tls_session::start_records() {
  // OpenSSL read the handshake record by record (no read-ahead): what came
  // after it is still in the socket buffer, for the records to open.
  if (SSL_has_pending(ssl_) == 1) {
    error_ = "OpenSSL holds bytes past the TLS handshake";
    return failed;
  }
  ERR_clear_error();
  records_ = tls_records::make(ssl_, server_, client_secret_, server_secret_, error_);
  OPENSSL_cleanse(client_secret_.data(), client_secret_.size());
  OPENSSL_cleanse(server_secret_.data(), server_secret_.size());
  client_secret_.clear();
  server_secret_.clear();
  return records_ ? done : failed;
}

tls_session::result tls_session::write(const void* data, size_t n, size_t& written) {
  written = 0;
  if (!records_) {
    write_error_ = "a write before the TLS handshake ended";
    return failed;
  }
  auto& s = *bufs_;
  auto* from = static_cast<const char*>(data);
  while (written < n) {
    size_t room = s.out_cap - s.out_end;
    if (room <= tls_records::overhead) {
      if (auto r = send_out(); r != done)
        return r == want_write && written > 0 ? done : r;
      continue;
    }
    // Encrypted from the caller's memory into the send buffer.
    auto k = std::min({n - written, tls_records::max_content, room - tls_records::overhead});
    if (!records_->seal(from + written, k, s.out_buffer() + s.out_end)) {
      write_error_ = records_->seal_error();
      return failed;
    }
    s.out_end += k + tls_records::overhead;
    written += k;
  }
  return done;
}

tls_session::result tls_session::read(void* out, size_t n, size_t& got) {
  got = 0;
  if (!records_) {
    error_ = "a read before the TLS handshake ended";
    return failed;
  }
  auto& s = *bufs_;
  auto* to = static_cast<char*>(out);
  while (got < n) {
    if (plain_pos_ < plain_end_) { // the rest of a record larger than a read
      auto k = std::min(n - got, plain_end_ - plain_pos_);
      std::memcpy(to + got, plain_.get() + plain_pos_, k);
      plain_pos_ += k;
      got += k;
      continue;
    }
    size_t have = s.in_end - s.in_pos;
    size_t size = 0;
    if (have >= tls_records::header_size) {
      size = records_->record_size(s.in.get() + s.in_pos);
      if (size == 0) {
        error_ = records_->open_error();
        return failed;
      }
    }
    if (size == 0 || have < size) { // the rest of the record is still on its way
      auto k = receive(s);
      if (k > 0)
        continue;
      if (k < 0 && would_block())
        return got > 0 ? done : want_read;
      error_ = k == 0 ? "the peer closed the connection" : std::strerror(errno);
      connection_ended_ = true;
      return failed;
    }
    // Decrypted straight into the caller's memory when it has room for the
    // whole record, else into the session's own buffer.
    size_t inner = size - tls_records::header_size - tls_records::tag_size - 1;
    bool direct = inner <= n - got;
    if (!direct && !plain_)
      plain_.reset(new char[tls_records::max_record]);
    char* dest = direct ? to + got : plain_.get();
    size_t content = 0;
    uint8_t type = 0;
    if (!records_->open(s.in.get() + s.in_pos, size, dest, content, type)) {
      error_ = records_->open_error();
      return failed;
    }
    s.in_pos += size;
    if (type == tls_records::alert) {
      // close_notify (level, then description 0), or an error the peer hit.
      bool closed = content == 2 && dest[1] == 0;
      connection_ended_ = closed;
      error_ = closed ? "the peer closed the TLS session"
                      : "the peer sent a TLS alert ("
                          + std::to_string(content == 2 ? static_cast<uint8_t>(dest[1]) : 0) + ")";
      return failed;
    }
    if (type != tls_records::application_data) {
      // Session tickets and key updates: neither end asks for them.
      error_ = "the peer sent a TLS record of type " + std::to_string(type)
               + " after the handshake";
      return failed;
    }
    if (direct) {
      got += content;
    } else {
      plain_pos_ = 0;
      plain_end_ = content;
    }
  }
  return done;
}

tls_session::result tls_session::send_out() {
  errno = 0;
  switch (send_buffered(*bufs_)) {
    case 1:
      return done;
    case 0:
      return want_write;
    default:
      write_error_ = std::strerror(errno);
      return failed;
  }
}

tls_session::result tls_session::flush() {
  return send_out();
}

} // namespace manta::detail
