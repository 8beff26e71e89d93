#include "manta/cluster/cluster_tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <unistd.h>

namespace manta::detail {

namespace {

/// Changing it makes every cluster's CA another one (old and new builds
/// then refuse each other's certificates), so it names a version.
constexpr char ca_label[] = "manta cluster CA v1";

template <class T, void (*Free)(T*)>
struct freer {
  void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, freer<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, freer<X509, X509_free>>;
using name_ptr = std::unique_ptr<X509_NAME, freer<X509_NAME, X509_NAME_free>>;
using ctx_ptr = std::unique_ptr<SSL_CTX, freer<SSL_CTX, SSL_CTX_free>>;

std::string openssl_errors() {
  std::string out;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out.empty() ? std::string{"no details from OpenSSL"} : out;
}

/// The CA's key: Ed25519 private keys are 32 arbitrary bytes, so a keyed
/// hash of the token is one.
pkey_ptr derive_ca_key(const std::string& token) {
  unsigned char seed[32];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, token.data(), token.size(),
                reinterpret_cast<const unsigned char*>(ca_label), sizeof(ca_label) - 1, seed,
                sizeof(seed), &len)
        == nullptr
      || len != sizeof(seed))
    return nullptr;
  pkey_ptr key{EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof(seed))};
  OPENSSL_cleanse(seed, sizeof(seed));
  return key;
}

std::string fingerprint_of(EVP_PKEY* key) {
  unsigned char pub[32];
  size_t len = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(key, pub, &len) != 1)
    return {};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(pub, len, digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

name_ptr make_name(const std::string& common_name) {
  name_ptr name{X509_NAME_new()};
  if (!name
      || X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>("Manta"), -1, -1, 0)
           != 1
      || X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                    -1, 0)
           != 1)
    return nullptr;
  return name;
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr)
    return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

/// A certificate for `key` named `subject`, signed by `signer` (issuer
/// `issuer`, or itself when `issuer` is null). Validity is fixed and wide:
/// the certificates prove who holds the token, not when, and hosts whose
/// clocks disagree must still accept each other.
x509_ptr make_certificate(EVP_PKEY* key, X509_NAME* subject, EVP_PKEY* signer, X509* issuer,
                          uint64_t serial, bool is_ca) {
  x509_ptr cert{X509_new()};
  if (!cert)
    return nullptr;
  constexpr time_t not_before = 1577836800; // 2020-01-01
  constexpr time_t not_after = 4733510400;  // 2120-01-01
  bool ok = X509_set_version(cert.get(), 2) == 1
            && ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1
            && ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) != nullptr
            && ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) != nullptr
            && X509_set_subject_name(cert.get(), subject) == 1
            && X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject)
                 == 1
            && X509_set_pubkey(cert.get(), key) == 1;
  auto* signed_by = issuer ? issuer : cert.get();
  if (is_ca)
    ok = ok && add_extension(cert.get(), signed_by, NID_basic_constraints, "critical,CA:TRUE")
         && add_extension(cert.get(), signed_by, NID_key_usage, "critical,keyCertSign")
         && add_extension(cert.get(), signed_by, NID_subject_key_identifier, "hash");
  else
    ok = ok && add_extension(cert.get(), signed_by, NID_basic_constraints, "critical,CA:FALSE")
         && add_extension(cert.get(), signed_by, NID_key_usage, "critical,digitalSignature")
         && add_extension(cert.get(), signed_by, NID_ext_key_usage, "serverAuth,clientAuth")
         && add_extension(cert.get(), signed_by, NID_authority_key_identifier, "keyid");
  // Ed25519 signs the whole certificate itself: no digest is given.
  ok = ok && X509_sign(cert.get(), signer, nullptr) > 0;
  return ok ? std::move(cert) : nullptr;
}

/// A context that presents `node` (with `key`) and accepts only peers
/// `ca` signed.
ctx_ptr make_context(X509* ca, X509* node, EVP_PKEY* key) {
  ctx_ptr ctx{SSL_CTX_new(TLS_method())};
  bool ok = ctx && SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) == 1
            && SSL_CTX_use_certificate(ctx.get(), node) == 1
            && SSL_CTX_use_PrivateKey(ctx.get(), key) == 1
            && SSL_CTX_check_private_key(ctx.get()) == 1
            && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca) == 1;
  // AES-128-GCM first: 10 rounds against AES-256's 14, so the encryption
  // of object bytes (the data path) costs less CPU, at a strength well
  // beyond what the token itself gives.
  ok = ok
       && SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                              "TLS_CHACHA20_POLY1305_SHA256")
            == 1;
  if (!ok)
    return nullptr;
  // Both ends present a certificate, and a peer's must chain to this CA
  // directly (depth 1: the peer's own certificate, then the CA).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx.get(), 1);
  // Connections live long and are few: no session tickets to make or keep.
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

} // namespace

std::shared_ptr<const token_identity> token_identity::make(const std::string& token,
                                                           std::string& error) {
  auto fail = [&](std::string text) {
    error = std::move(text);
    return nullptr;
  };
  if (token.empty())
    return fail("TLS needs the cluster token to make this process's certificate");
  ERR_clear_error();
  auto ca_key = derive_ca_key(token);
  if (!ca_key)
    return fail("TLS: cannot derive the cluster's CA key: " + openssl_errors());
  auto fingerprint = fingerprint_of(ca_key.get());
  auto ca_name = make_name("manta cluster " + fingerprint);
  if (!ca_name)
    return fail("TLS: cannot name the cluster's CA: " + openssl_errors());
  // Every process makes the same CA certificate (same key, name, serial
  // and dates; Ed25519 signatures are deterministic).
  auto ca = make_certificate(ca_key.get(), ca_name.get(), ca_key.get(), nullptr, 1, true);
  if (!ca)
    return fail("TLS: cannot make the cluster's CA certificate: " + openssl_errors());
  pkey_ptr node_key{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
  uint64_t serial = 0;
  if (!node_key || RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1)
    return fail("TLS: cannot make this process's key: " + openssl_errors());
  auto node_name = make_name("manta node (pid " + std::to_string(::getpid()) + ")");
  auto node = node_name ? make_certificate(node_key.get(), node_name.get(), ca_key.get(), ca.get(),
                                           (serial >> 1) | 2, false)
                        : nullptr;
  if (!node)
    return fail("TLS: cannot make this process's certificate: " + openssl_errors());
  auto ctx = make_context(ca.get(), node.get(), node_key.get());
  if (!ctx)
    return fail("TLS: cannot set up OpenSSL's context: " + openssl_errors());
  // CAF's sessions read as much as the socket holds at once: without it
  // OpenSSL reads each record in two system calls (header, then body).
  // CAF's read loop asks `SSL_has_pending` before it stops
  // (openssl_patch.cpp). The data path keeps its own reading.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  std::shared_ptr<token_identity> out{new token_identity};
  out->ca_ = ca.release();
  out->node_ = node.release();
  out->key_ = node_key.release();
  out->shared_ = ctx.release();
  out->fingerprint_ = fingerprint;
  return out;
}

token_identity::~token_identity() {
  SSL_CTX_free(shared_);
  EVP_PKEY_free(key_);
  X509_free(node_);
  X509_free(ca_);
}

SSL_CTX* token_identity::new_context() const {
  return make_context(ca_, node_, key_).release();
}

SSL_CTX* token_identity::shared_context() const noexcept {
  SSL_CTX_up_ref(shared_);
  return shared_;
}

const token_identity* token_identity_of(const caf::actor_system& sys) noexcept {
  auto* cfg = dynamic_cast<const tls_config*>(&sys.config());
  return cfg != nullptr ? cfg->identity.get() : nullptr;
}

std::chrono::milliseconds handshake_timeout_of(const caf::actor_system& sys) noexcept {
  auto* cfg = dynamic_cast<const tls_config*>(&sys.config());
  return cfg != nullptr ? cfg->handshake_timeout : tls_config::default_handshake_timeout;
}

} // namespace manta::detail
