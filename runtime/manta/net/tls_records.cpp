#include "manta/net/tls_records.hpp"

#include "manta/net/record_cipher.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <cstring>

namespace manta::detail {

namespace {

/// HKDF-Expand-Label(secret, label, "", n) of RFC 8446 section 7.1.
bool expand_label(const EVP_MD* md, const std::string& secret, const char* label,
                  unsigned char* out, size_t n) {
  std::string full = std::string{"tls13 "} + label;
  std::string info;
  info += static_cast<char>(n >> 8);
  info += static_cast<char>(n & 0xff);
  info += static_cast<char>(full.size());
  info += full;
  info += '\0'; // no context
  auto* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  size_t len = n;
  bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1
            && EVP_PKEY_CTX_set_hkdf_mode(ctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) == 1
            && EVP_PKEY_CTX_set_hkdf_md(ctx, md) == 1
            && EVP_PKEY_CTX_set1_hkdf_key(ctx,
                                          reinterpret_cast<const unsigned char*>(secret.data()),
                                          static_cast<int>(secret.size()))
                 == 1
            && EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(info.data()),
                                           static_cast<int>(info.size()))
                 == 1
            && EVP_PKEY_derive(ctx, out, &len) == 1 && len == n;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

/// A cipher context holding the key of `secret` (its IV goes to `iv`).
std::unique_ptr<record_cipher> keyed(const EVP_CIPHER* cipher, const EVP_MD* md,
                                     const std::string& secret, bool seal, unsigned char* iv,
                                     std::string& error) {
  unsigned char key[EVP_MAX_KEY_LENGTH];
  auto key_len = static_cast<size_t>(EVP_CIPHER_get_key_length(cipher));
  if (key_len > sizeof(key) || !expand_label(md, secret, "key", key, key_len)
      || !expand_label(md, secret, "iv", iv, 12)) {
    error = "cannot derive the TLS traffic keys: " + openssl_reason("OpenSSL failed");
    return nullptr;
  }
  auto out = record_cipher::make(cipher, key, key_len, seal, error);
  OPENSSL_cleanse(key, sizeof(key));
  return out;
}

} // namespace

std::unique_ptr<tls_records> tls_records::make(SSL* ssl, bool server,
                                               const std::string& client_secret,
                                               const std::string& server_secret,
                                               std::string& error) {
  const SSL_CIPHER* suite = SSL_get_current_cipher(ssl);
  const EVP_MD* md = suite != nullptr ? SSL_CIPHER_get_handshake_digest(suite) : nullptr;
  const EVP_CIPHER* cipher = suite != nullptr
                               ? EVP_get_cipherbynid(SSL_CIPHER_get_cipher_nid(suite))
                               : nullptr;
  if (SSL_version(ssl) != TLS1_3_VERSION || md == nullptr || cipher == nullptr
      || (EVP_CIPHER_get_flags(cipher) & EVP_CIPH_FLAG_AEAD_CIPHER) == 0
      || EVP_CIPHER_get_iv_length(cipher) != 12) {
    error = "the TLS session did not agree on a TLS 1.3 AEAD cipher suite";
    return nullptr;
  }
  if (client_secret.empty() || server_secret.empty()
      || client_secret.size() != static_cast<size_t>(EVP_MD_get_size(md))
      || server_secret.size() != client_secret.size()) {
    error = "OpenSSL did not hand over the TLS session's traffic secrets";
    return nullptr;
  }
  return from_secrets(cipher, md, server ? server_secret : client_secret,
                      server ? client_secret : server_secret, error);
}

std::unique_ptr<tls_records> tls_records::from_secrets(const EVP_CIPHER* cipher, const EVP_MD* md,
                                                       const std::string& mine,
                                                       const std::string& theirs,
                                                       std::string& error) {
  std::unique_ptr<tls_records> out{new tls_records};
  out->sealer_ = keyed(cipher, md, mine, true, out->seal_iv_, error);
  if (out->sealer_)
    out->opener_ = keyed(cipher, md, theirs, false, out->open_iv_, error);
  return out->opener_ ? std::move(out) : nullptr;
}

tls_records::~tls_records() {
  OPENSSL_cleanse(seal_iv_, sizeof(seal_iv_));
  OPENSSL_cleanse(open_iv_, sizeof(open_iv_));
}

void tls_records::nonce(const unsigned char* iv, uint64_t seq, unsigned char* out) const {
  std::memcpy(out, iv, 12);
  for (int i = 0; i < 8; ++i)
    out[11 - i] ^= static_cast<unsigned char>(seq >> (8 * i));
}

bool tls_records::seal(const char* data, size_t n, char* out) {
  if (seal_seq_ >= max_records) {
    seal_error_ = "the TLS key sealed its most records";
    return false;
  }
  size_t length = n + 1 + tag_size;
  auto* head = reinterpret_cast<unsigned char*>(out);
  head[0] = application_data; // every TLS 1.3 record's outer type
  head[1] = 0x03;
  head[2] = 0x03;
  head[3] = static_cast<unsigned char>(length >> 8);
  head[4] = static_cast<unsigned char>(length & 0xff);
  unsigned char iv[12];
  nonce(seal_iv_, seal_seq_, iv);
  auto* body = head + header_size;
  if (!sealer_->seal(iv, head, header_size, reinterpret_cast<const unsigned char*>(data), n,
                     application_data, body, body + n + 1, seal_error_))
    return false;
  ++seal_seq_;
  return true;
}

size_t tls_records::record_size(const char* head) {
  auto* h = reinterpret_cast<const unsigned char*>(head);
  size_t length = size_t{h[3]} << 8 | h[4];
  if (h[0] != application_data || h[1] != 0x03 || h[2] != 0x03) {
    error_ = "the peer sent something other than a TLS 1.3 record";
    return 0;
  }
  if (length < 1 + tag_size || header_size + length > max_record) {
    error_ = "the peer sent a TLS record of a wrong length (" + std::to_string(length) + ")";
    return 0;
  }
  return header_size + length;
}

bool tls_records::open(const char* in, size_t size, char* out, size_t& content, uint8_t& type) {
  if (open_seq_ >= max_records) {
    error_ = "the peer's TLS key opened its most records";
    return false;
  }
  auto* head = reinterpret_cast<const unsigned char*>(in);
  auto* body = head + header_size;
  size_t inner = size - header_size - tag_size; // content, type, padding
  unsigned char iv[12];
  nonce(open_iv_, open_seq_, iv);
  auto* to = reinterpret_cast<unsigned char*>(out);
  unsigned char last = 0;
  // The tag is checked last; until then `out` holds bytes no one may use.
  if (!opener_->open(iv, head, header_size, body, inner, to, last, body + inner)) {
    error_ = "a TLS record from the peer did not authenticate (bad record MAC)";
    return false;
  }
  ++open_seq_;
  // The content type is the last byte that is not zero padding.
  content = inner - 1;
  while (last == 0 && content > 0)
    last = to[--content];
  if (last == 0) {
    error_ = "a TLS record from the peer has no content type";
    return false;
  }
  if (content > max_content) {
    error_ = "the peer sent a TLS record of more than 16 KiB (record overflow)";
    return false;
  }
  type = last;
  return true;
}

} // namespace manta::detail
