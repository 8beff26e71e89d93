#include "manta/net/transport.hpp"

#include "manta/cluster/cluster_tls.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/net/record_cipher.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <set>
#include <sys/socket.h>
#include <unistd.h>

namespace manta::detail {

/// In openssl_patch.cpp (CAF 0.17's OpenSSL sessions leave OpenSSL's error
/// queue full and then misread it); calling it links that file in.
void openssl_patch_linked();

namespace {

/// What OpenSSL queued up about the last failure.
std::string ssl_errors() {
  return openssl_reason("no details from OpenSSL");
}

bool is(const caf::error& err, caf::sec code) {
  return err.category() == caf::atom("system") && err.code() == static_cast<uint8_t>(code);
}

/// Whether `host:port` accepts a TCP connection (within a second).
bool accepts_tcp(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
    return false;
  bool ok = false;
  for (auto* ai = found; ai != nullptr && !ok; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
      continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof(err);
      ok = ::poll(&p, 1, 1000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
           && err == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return ok;
}

const char* tls_flags_hint = "--tls-cert, --tls-key and --tls-ca (or MANTA_TLS_CERT, "
                             "MANTA_TLS_KEY and MANTA_TLS_CA)";

} // namespace

std::string check_tls(const tls_options& tls) {
  if (!tls.enabled())
    return {};
  struct file {
    const std::string& path;
    const char* what;
    const char* flag;
  };
  const file files[] = {{tls.certificate, "certificate", "--tls-cert / MANTA_TLS_CERT"},
                        {tls.key, "private key", "--tls-key / MANTA_TLS_KEY"},
                        {tls.ca_file, "CA file", "--tls-ca / MANTA_TLS_CA"}};
  std::string missing;
  for (auto& f : files)
    if (f.path.empty())
      missing += (missing.empty() ? "" : ", ") + std::string{"the "} + f.what + " (" + f.flag + ")";
  if (!missing.empty())
    return "TLS needs a certificate, its private key and the cluster's CA; missing " + missing;
  for (auto& f : files)
    if (::access(f.path.c_str(), R_OK) != 0)
      return std::string{"TLS: cannot read the "} + f.what + " " + f.path + ": "
             + std::strerror(errno);
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return "TLS: OpenSSL cannot make a context: " + ssl_errors();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.c_str()) != 1)
    return "TLS: the certificate " + tls.certificate + " is not a PEM certificate: " + ssl_errors();
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return "TLS: cannot use the private key " + tls.key + " with the certificate " + tls.certificate
           + " (it must be that certificate's key, PEM, unencrypted): " + ssl_errors();
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return "TLS: the private key " + tls.key + " does not belong to the certificate "
           + tls.certificate;
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr) != 1)
    return "TLS: the CA file " + tls.ca_file + " holds no PEM certificate: " + ssl_errors();
  // Peers check this process's certificate against their CA, which is
  // this one in a well-formed cluster: a certificate it does not sign
  // would be refused by every peer, so say so now.
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify{X509_STORE_CTX_new(),
                                                                         X509_STORE_CTX_free};
  if (!verify
      || X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx.get()),
                             SSL_CTX_get0_certificate(ctx.get()), chain)
           != 1)
    return "TLS: OpenSSL cannot check the certificate: " + ssl_errors();
  if (X509_verify_cert(verify.get()) != 1)
    return "TLS: the certificate " + tls.certificate + " is not signed by the CA in " + tls.ca_file
           + " (" + X509_verify_cert_error_string(X509_STORE_CTX_get_error(verify.get()))
           + "); every peer would refuse it";
  return {};
}

std::string configure_tls(tls_config& cfg, const tls_options& tls, const std::string& token,
                          std::chrono::milliseconds handshake_timeout) {
  cfg.identity.reset();
  if (tls.plain) {
    if (tls.enabled())
      return "--transport=plain and TLS files (--tls-cert, --tls-key, --tls-ca) contradict "
             "each other; give one or the other";
    return {};
  }
  if (tls.enabled()) {
    // With a certificate and a CA, CAF's OpenSSL module requires a valid
    // certificate from the peer on both ends of a connection.
    cfg.openssl_certificate = tls.certificate;
    cfg.openssl_key = tls.key;
    cfg.openssl_cafile = tls.ca_file;
  } else {
    std::string err;
    cfg.identity = token_identity::make(token, err);
    if (!cfg.identity)
      return err;
  }
  cfg.load<caf::openssl::manager>();
  // Never a plain side connection (CAF's default, stated).
  cfg.set("middleman.enable-automatic-connections", false);
  cfg.handshake_timeout = handshake_timeout;
  openssl_patch_linked();
  return {};
}

bool uses_tls(const caf::actor_system& sys) {
  return sys.has_openssl_manager();
}

caf::io::middleman_actor cluster_middleman(caf::actor_system& sys) {
  return uses_tls(sys) ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

caf::expected<uint16_t> publish(caf::actor_system& sys, const caf::actor& whom, uint16_t port,
                                const std::string& host, bool reuse_address) {
  if (uses_tls(sys))
    return caf::openssl::publish(whom, port, host.c_str(), reuse_address);
  return sys.middleman().publish(whom, port, host.c_str(), reuse_address);
}

caf::expected<caf::actor> connect(caf::actor_system& sys, const std::string& host, uint16_t port,
                                  std::chrono::milliseconds timeout) {
  caf::expected<caf::actor> out{caf::make_error(caf::sec::cannot_connect_to_node)};
  caf::scoped_actor self{sys};
  self->request(cluster_middleman(sys), timeout, caf::connect_atom::value, host, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (ptr)
          out = caf::actor_cast<caf::actor>(std::move(ptr));
        else
          out = caf::make_error(caf::sec::no_actor_published_at_port);
      },
      [&](caf::error& err) { out = std::move(err); });
  return out;
}

bool timed_out(const caf::error& err) {
  return is(err, caf::sec::request_timeout) || is(err, caf::sec::connection_timeout);
}

std::string connect_error(caf::actor_system& sys, const caf::error& err, const std::string& host,
                          uint16_t port, const std::string& if_refused) {
  auto where = host + ":" + std::to_string(port);
  bool tls = uses_tls(sys);
  // CAF's OpenSSL module reports a TLS handshake that fails at once (the
  // peer's first bytes are no TLS) like a refused connection: tell the two
  // apart by trying plain TCP.
  if (is(err, caf::sec::cannot_connect_to_node) && !(tls && accepts_tcp(host, port)))
    return "nothing accepts connections at " + where + if_refused;
  // With the identity made from the token (the default), a refused
  // handshake means another token; with files, another CA.
  bool from_token = token_identity_of(sys) != nullptr;
  if (timed_out(err)) {
    if (tls)
      return "no TLS handshake with " + where
             + " in time (is it a Manta process? on an overloaded machine, raise "
               "--connection-timeout)";
    // A TLS peer waits for a TLS hello that a plain process never sends.
    return "no handshake from " + where
           + " in time; this process uses plain TCP (--transport=plain), which a TLS cluster "
             "(the default) never answers: give every process of the cluster the same "
             "--transport";
  }
  auto text = sys.render(err);
  if (tls && from_token)
    return text + " (the TLS handshake with " + where
           + " failed: the peer has another cluster token than this process, runs with "
             "--transport=plain, uses its own CA (then give this process "
           + tls_flags_hint + "), or is not a Manta process; " + token_hint() + ")";
  if (tls)
    return text + " (the TLS handshake with " + where
           + " failed: the peer does not use TLS, or its certificate and this process's are "
             "not signed by the same CA; see "
           + tls_flags_hint + ")";
  if (is(err, caf::sec::disconnect_during_handshake))
    return text + " (" + where
           + " closed the connection during the handshake; the cluster uses TLS (the "
             "default) while this process runs with --transport=plain: give every process "
             "the same --transport)";
  return text;
}

} // namespace manta::detail
