#include "manta/detail/tls_session.hpp"

#include "manta/detail/data_path_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <sys/socket.h>

namespace manta::detail {

namespace {

// -- a buffered socket BIO that never raises SIGPIPE -------------------------------
// OpenSSL's own socket BIO writes with write(2): a peer that hangs up while
// the node sends would kill the process with SIGPIPE. This one uses
// send(MSG_NOSIGNAL), and batches: records written go out in one send of
// up to `out_cap` bytes (at a flush, or when the buffer is full), and one
// recv takes up to `in_cap` bytes for OpenSSL to read records from. Each
// 16 KiB record in a system call of its own cost more CPU than its
// encryption.

struct socket_buffers {
  socket_buffers(int f, size_t in_max, size_t out_max) : fd(f), in_cap(in_max), out_cap(out_max) {}
  int fd;
  size_t in_cap;
  size_t out_cap;
  std::vector<char> in;
  size_t in_pos = 0;
  std::vector<char> out;
  size_t out_pos = 0;
};

socket_buffers& buffers_of(BIO* b) {
  return *static_cast<socket_buffers*>(BIO_get_data(b));
}

bool would_block() {
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/// Sends what is buffered: 1 when all of it went out, else 0 (retry when
/// writable) or -1 (failed).
int send_buffered(BIO* b) {
  auto& s = buffers_of(b);
  while (s.out_pos < s.out.size()) {
    auto k = ::send(s.fd, s.out.data() + s.out_pos, s.out.size() - s.out_pos, MSG_NOSIGNAL);
    if (k < 0) {
      if (!would_block())
        return -1;
      BIO_set_retry_write(b);
      return 0;
    }
    s.out_pos += static_cast<size_t>(k);
  }
  s.out.clear();
  s.out_pos = 0;
  return 1;
}

int bio_write(BIO* b, const char* data, int n) {
  BIO_clear_retry_flags(b);
  auto& s = buffers_of(b);
  if (s.out.size() >= s.out_cap) {
    auto r = send_buffered(b);
    if (r <= 0)
      return -1; // retry flag set when it would block
  }
  auto k = std::min(static_cast<size_t>(n), s.out_cap - s.out.size());
  s.out.insert(s.out.end(), data, data + k);
  return static_cast<int>(k);
}

int bio_read(BIO* b, char* data, int n) {
  BIO_clear_retry_flags(b);
  auto& s = buffers_of(b);
  if (s.in_pos == s.in.size()) {
    s.in.resize(s.in_cap);
    auto k = ::recv(s.fd, s.in.data(), s.in_cap, 0);
    if (k <= 0) {
      s.in.clear();
      s.in_pos = 0;
      if (k < 0 && would_block())
        BIO_set_retry_read(b);
      return static_cast<int>(k); // 0: the peer closed
    }
    s.in.resize(static_cast<size_t>(k));
    s.in_pos = 0;
  }
  auto k = std::min(static_cast<size_t>(n), s.in.size() - s.in_pos);
  std::memcpy(data, s.in.data() + s.in_pos, k);
  s.in_pos += k;
  return static_cast<int>(k);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  if (cmd == BIO_CTRL_FLUSH) {
    BIO_clear_retry_flags(b);
    return send_buffered(b) == 1 ? 1 : 0;
  }
  if (cmd == BIO_CTRL_WPENDING)
    return static_cast<long>(buffers_of(b).out.size() - buffers_of(b).out_pos);
  if (cmd == BIO_CTRL_PENDING)
    return static_cast<long>(buffers_of(b).in.size() - buffers_of(b).in_pos);
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

} // namespace

tls_session::tls_session(data_path_tls& tls, role r, int fd) {
  auto* method = socket_method();
  ssl_ = SSL_new(tls.context().native_handle());
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (ssl_ == nullptr || bio == nullptr) {
    BIO_free(bio);
    SSL_free(ssl_);
    throw std::runtime_error{"OpenSSL cannot make a TLS session (out of memory)"};
  }
  // A server reads small requests and writes large answers; a reader the
  // other way round. Buffers grow to their cap only as bytes pass.
  bool server = r == role::server;
  BIO_set_data(bio, new socket_buffers{fd, server ? size_t{16} << 10 : size_t{256} << 10,
                                       server ? size_t{256} << 10 : size_t{16} << 10});
  bio_ = bio;
  SSL_set_bio(ssl_, bio, bio); // the session owns it now
  if (r == role::client) {
    // A reader keeps its buffers for the connection's life.
    SSL_clear_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
}

tls_session::~tls_session() {
  SSL_free(ssl_);
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
  return ret == 1 ? done : outcome(ret);
}

tls_session::result tls_session::write(const void* data, size_t n, size_t& written) {
  ERR_clear_error();
  errno = 0;
  written = 0;
  int ret = SSL_write_ex(ssl_, data, n, &written);
  return ret == 1 ? done : outcome(ret);
}

tls_session::result tls_session::read(void* out, size_t n, size_t& got) {
  ERR_clear_error();
  errno = 0;
  got = 0;
  int ret = SSL_read_ex(ssl_, out, n, &got);
  return ret == 1 ? done : outcome(ret);
}

tls_session::result tls_session::flush() {
  errno = 0;
  switch (send_buffered(bio_)) {
    case 1:
      return done;
    case 0:
      return want_write;
    default:
      error_ = std::strerror(errno);
      return failed;
  }
}

} // namespace manta::detail
