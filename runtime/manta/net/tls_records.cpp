#include "manta/net/tls_records.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <cstring>

namespace manta::detail {

namespace {

/// OpenSSL's reasons for the last failure, or `fallback`.
std::string openssl_reason(const char* fallback) {
  std::string out;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out.empty() ? fallback : out;
}

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
EVP_CIPHER_CTX* keyed(const EVP_CIPHER* cipher, const EVP_MD* md, const std::string& secret,
                      bool encrypt, unsigned char* iv) {
  unsigned char key[EVP_MAX_KEY_LENGTH];
  auto key_len = static_cast<size_t>(EVP_CIPHER_get_key_length(cipher));
  if (key_len > sizeof(key) || !expand_label(md, secret, "key", key, key_len)
      || !expand_label(md, secret, "iv", iv, 12))
    return nullptr;
  auto* ctx = EVP_CIPHER_CTX_new();
  bool ok = ctx != nullptr
            && EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, encrypt) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1
            && EVP_CipherInit_ex(ctx, nullptr, nullptr, key, nullptr, encrypt) == 1;
  OPENSSL_cleanse(key, sizeof(key));
  if (!ok) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
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
  out->sealer_ = keyed(cipher, md, mine, true, out->seal_iv_);
  out->opener_ = keyed(cipher, md, theirs, false, out->open_iv_);
  if (out->sealer_ == nullptr || out->opener_ == nullptr) {
    error = "cannot derive the TLS traffic keys: " + openssl_reason("OpenSSL failed");
    return nullptr;
  }
  return out;
}

tls_records::~tls_records() {
  EVP_CIPHER_CTX_free(sealer_);
  EVP_CIPHER_CTX_free(opener_);
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
    error_ = "the TLS key sealed its most records";
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
  const unsigned char type = application_data;
  int k = 0;
  bool ok = EVP_EncryptInit_ex(sealer_, nullptr, nullptr, nullptr, iv) == 1
            && EVP_EncryptUpdate(sealer_, nullptr, &k, head, header_size) == 1
            && EVP_EncryptUpdate(sealer_, body, &k, reinterpret_cast<const unsigned char*>(data),
                                 static_cast<int>(n))
                 == 1
            && EVP_EncryptUpdate(sealer_, body + n, &k, &type, 1) == 1
            && EVP_EncryptFinal_ex(sealer_, body + (n + 1), &k) == 1
            && EVP_CIPHER_CTX_ctrl(sealer_, EVP_CTRL_AEAD_GET_TAG, tag_size, body + n + 1) == 1;
  if (!ok) {
    error_ = "cannot seal a TLS record: " + openssl_reason("OpenSSL failed");
    return false;
  }
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
  int k = 0;
  // The tag is checked by the final step; until then `out` holds bytes no
  // one may use.
  bool ok = EVP_DecryptInit_ex(opener_, nullptr, nullptr, nullptr, iv) == 1
            && EVP_CIPHER_CTX_ctrl(opener_, EVP_CTRL_AEAD_SET_TAG, tag_size,
                                   const_cast<unsigned char*>(body + inner))
                 == 1
            && EVP_DecryptUpdate(opener_, nullptr, &k, head, header_size) == 1
            && EVP_DecryptUpdate(opener_, to, &k, body, static_cast<int>(inner - 1)) == 1
            && EVP_DecryptUpdate(opener_, &last, &k, body + inner - 1, 1) == 1
            && EVP_DecryptFinal_ex(opener_, to + (inner - 1), &k) == 1;
  if (!ok) {
    ERR_clear_error();
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
