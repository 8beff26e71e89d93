#include "manta/net/data_path_tls.hpp"

#include "manta/cluster/cluster_tls.hpp"
#include "manta/net/tls_session.hpp"
#include "manta/net/transport.hpp"
#include "manta/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <openssl/ssl.h>

namespace manta::detail {

namespace ssl = boost::asio::ssl;

data_path_tls::data_path_tls() : ctx_(ssl::context::tls) {
  // nop
}

data_path_tls::data_path_tls(SSL_CTX* native) : ctx_(native) {
  // nop
}

void data_path_tls::configure() {
  auto* native = ctx_.native_handle();
  // TLS 1.3 only, no session tickets: readers keep connections between
  // reads (connection_pool.hpp) instead of resuming sessions.
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(native, 0);
  // OpenSSL runs only the handshake: its buffers go once that is over;
  // the records after it are the session's own (tls_records.hpp), keyed
  // from the traffic secrets this callback hands to the session.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_keylog_callback(native, capture_traffic_secret);
  // Object bytes are most of what TLS costs here: AES-128-GCM (10 rounds
  // to AES-256's 14) first, on both ends, so it is what they agree on.
  SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                   "TLS_CHACHA20_POLY1305_SHA256");
}

std::shared_ptr<data_path_tls> data_path_tls::from_identity(const token_identity& id) {
  // A context of its own (the modes above must not reach CAF's sessions),
  // with the same certificate, key, CA and checks as theirs.
  auto* native = id.new_context();
  if (native == nullptr)
    return nullptr;
  std::shared_ptr<data_path_tls> out{new data_path_tls{native}};
  out->configure();
  return out;
}

std::shared_ptr<data_path_tls> data_path_tls::make(const tls_options& tls, std::string& error) {
  // Named problems (missing, unreadable or mismatched files) first.
  if (error = check_tls(tls); !error.empty())
    return nullptr;
  std::shared_ptr<data_path_tls> out{new data_path_tls};
  boost::system::error_code ec;
  auto fail = [&](const std::string& what) {
    error = "the object data path cannot use " + what + ": " + ec.message()
            + " (see --tls-cert, --tls-key and --tls-ca)";
    return nullptr;
  };
  out->configure();
  out->ctx_.use_certificate_chain_file(tls.certificate, ec);
  if (ec)
    return fail("the certificate " + tls.certificate);
  out->ctx_.use_private_key_file(tls.key, ssl::context::pem, ec);
  if (ec)
    return fail("the private key " + tls.key);
  out->ctx_.load_verify_file(tls.ca_file, ec);
  if (ec)
    return fail("the CA file " + tls.ca_file);
  // Mutual: the server asks the reader for its certificate too, and a peer
  // without one the CA signed never gets past the handshake.
  out->ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec)
    return fail("peer verification");
  return out;
}

std::shared_ptr<data_path_tls> data_path_tls::of(const caf::actor_system& sys) {
  if (!uses_tls(sys))
    return nullptr;
  if (auto* id = token_identity_of(sys)) {
    if (auto from_token = from_identity(*id))
      return from_token;
    throw manta::error("manta: the object data path cannot use the cluster's TLS identity");
  }
  auto& cfg = sys.config();
  tls_options tls{cfg.openssl_certificate, cfg.openssl_key, cfg.openssl_cafile};
  std::string error;
  auto out = make(tls, error);
  if (!out)
    throw manta::error("manta: " + error);
  return out;
}

} // namespace manta::detail
