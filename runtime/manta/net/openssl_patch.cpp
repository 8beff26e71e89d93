// A fix for CAF 0.17's OpenSSL module (libcaf_openssl 0.17.6), applied by
// symbol interposition.
//
// The bug: OpenSSL keeps one error queue per thread, and SSL_get_error
// reports SSL_ERROR_SSL whenever that queue holds anything, whatever the
// call it is asked about did. CAF's sessions never empty it (they read it
// only to log, and Debian's CAF logs nothing), and all sessions of a process
// run on the middleman's one I/O thread. So once any connection fails (a
// peer killed with -9: OpenSSL 3 queues "unexpected eof while reading"; a
// peer refused for its certificate), the next read on ANY other connection
// that merely has no data yet is taken for an error and that connection is
// closed: killing one worker disconnected the driver from the other one, and
// a refused handshake could cut the head off its members.
//
// The fix: empty the queue before each SSL call of a session, as OpenSSL's
// SSL_get_error manual demands. The four session members that start SSL
// calls are called through the PLT (checked with objdump), so the
// definitions below, linked into every Manta program, take their place:
// each empties the queue, then runs CAF's own code (found with RTLD_NEXT),
// except reads and writes, which do CAF's steps themselves (`ssl_io`) to
// leave out CAF's three signal-mask system calls around every call.
//
// The same interposition gives sessions the cluster's identity made from
// its token (cluster_tls.hpp) instead of CAF's context read from files
// (`create_ssl_context`, also called through the PLT), and bounds accepted
// connections whose handshake has not finished (handshake_guard.hpp).

#include "manta/cluster/cluster_tls.hpp"
#include "manta/cluster/handshake_guard.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/net/transport.hpp"

#include <caf/openssl/session.hpp>

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

namespace manta::detail {

namespace {

/// CAF's own definition of the member function `mangled`.
template <class Fn>
Fn caf_original(const char* mangled) {
  auto fn = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, mangled));
  if (fn == nullptr) {
    detail::log_line(log_level::error, "manta: libcaf_openssl has no %s; TLS cannot work\n",
                     mangled);
    std::abort();
  }
  return fn;
}

} // namespace

void openssl_patch_linked() {
  // Referenced from configure_tls so that this file is always linked.
}

/// SIGPIPE stays blocked on the thread that runs the sessions (CAF's I/O
/// thread): a write to a closed connection then fails with EPIPE instead
/// of ending the process. CAF's own sessions block it and unblock it again
/// around every read and write (three system calls each time, which cost
/// more than the encryption of a small message); once per thread does.
void block_sigpipe_here() {
  thread_local bool blocked = false;
  if (blocked)
    return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  blocked = true;
}

/// One read or write of a session, as CAF 0.17's `session::do_some` does
/// it (finish a handshake under way first, then `io`, mapping OpenSSL's
/// answers to CAF's), with the error queue emptied first (see above) and
/// SIGPIPE blocked once per thread rather than around each call.
template <class Io>
caf::io::network::rw_state ssl_step(SSL* ssl, bool& connecting, bool& accepting, size_t& result,
                                    size_t len, bool is_write, Io io) {
  using caf::io::network::rw_state;
  block_sigpipe_here();
  ERR_clear_error();
  result = 0;
  // A handshake step that did not finish: wait for the socket, unless the
  // caller wrote nothing and only the peer can move on.
  auto pending = [&](int res) {
    switch (SSL_get_error(ssl, res)) {
      case SSL_ERROR_WANT_READ:
        return len == 0 && is_write ? rw_state::indeterminate : rw_state::success;
      case SSL_ERROR_WANT_WRITE:
        return rw_state::success;
      default:
        return rw_state::failure;
    }
  };
  if (connecting) {
    auto res = SSL_connect(ssl);
    if (res != 1)
      return pending(res);
    connecting = false;
  }
  if (accepting) {
    auto res = SSL_accept(ssl);
    if (res != 1)
      return pending(res);
    accepting = false;
  }
  if (len == 0)
    return rw_state::indeterminate;
  auto ret = io();
  if (ret > 0) {
    result = static_cast<size_t>(ret);
    return rw_state::success;
  }
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return rw_state::success;
    default: // the peer closed, or an error
      return rw_state::failure;
  }
}

/// `ssl_step`, then the handshake guard told how the step went (a failure
/// while accepting on `fd` counts as a refused handshake).
template <class Io>
caf::io::network::rw_state ssl_io(SSL* ssl, bool& connecting, bool& accepting, int fd,
                                  size_t& result, size_t len, bool is_write, Io io) {
  bool was_accepting = accepting;
  auto state = ssl_step(ssl, connecting, accepting, result, len, is_write, io);
  handshake_progress(ssl);
  if (was_accepting && state == caf::io::network::rw_state::failure)
    handshake_refused(fd);
  return state;
}

} // namespace manta::detail

namespace caf::openssl {

// The Itanium C++ ABI passes `this` as the first argument, so CAF's member
// functions are called as plain functions taking the session first.

rw_state session::read_some(size_t& result, native_socket fd, void* buf, size_t len) {
  return manta::detail::ssl_io(ssl_, connecting_, accepting_, fd, result, len, false,
                               [&] { return SSL_read(ssl_, buf, static_cast<int>(len)); });
}

rw_state session::write_some(size_t& result, native_socket fd, const void* buf, size_t len) {
  return manta::detail::ssl_io(ssl_, connecting_, accepting_, fd, result, len, true,
                               [&] { return SSL_write(ssl_, buf, static_cast<int>(len)); });
}

bool session::try_connect(native_socket fd) {
  using fn = bool (*)(session*, native_socket);
  static auto original = manta::detail::caf_original<fn>("_ZN3caf7openssl7session11try_connectEi");
  ERR_clear_error();
  return original(this, fd);
}

bool session::try_accept(native_socket fd) {
  using fn = bool (*)(session*, native_socket);
  static auto original = manta::detail::caf_original<fn>("_ZN3caf7openssl7session10try_acceptEi");
  ERR_clear_error();
  if (!original(this, fd)) {
    manta::detail::handshake_refused(fd);
    return false;
  }
  // A handshake still under way counts against the bounds until it ends.
  return !accepting_
         || manta::detail::admit_handshake(ssl_, fd, manta::detail::handshake_timeout_of(sys_));
}

bool session::must_read_more(native_socket, size_t) {
  // With read-ahead (cluster_tls.cpp), OpenSSL may hold raw bytes of the
  // next records that the socket no longer shows to epoll: CAF's read loop
  // must go on while OpenSSL holds anything, or those bytes would wait for
  // the peer's next message.
  return SSL_has_pending(ssl_) == 1;
}

SSL_CTX* session::create_ssl_context() {
  // The identity made from the token, kept by this system's configuration
  // (cluster_tls.hpp); CAF's own from the files otherwise.
  if (auto* id = manta::detail::token_identity_of(sys_))
    return id->shared_context();
  using fn = SSL_CTX* (*)(session*);
  static auto original = manta::detail::caf_original<fn>(
    "_ZN3caf7openssl7session18create_ssl_contextEv");
  return original(this);
}

} // namespace caf::openssl
