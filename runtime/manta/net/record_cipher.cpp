#include "manta/net/record_cipher.hpp"

#include "manta_record_cipher.h" // MANTA_HAVE_IPSEC_MB, MANTA_HAVE_GCRYPT: 1 where meson found them

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#if MANTA_HAVE_GCRYPT
#include <gcrypt.h>
#include <mutex>
#endif

#if MANTA_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>
#endif

namespace manta::detail {

namespace {

constexpr int nonce_size = 12;
constexpr int tag_size = 16;

/// AES-128-GCM or AES-256-GCM, the suites the faster libraries take.
[[maybe_unused]] bool aes_gcm(const EVP_CIPHER* cipher) {
  int nid = EVP_CIPHER_get_nid(cipher);
  return nid == NID_aes_128_gcm || nid == NID_aes_256_gcm;
}

/// Any AEAD OpenSSL has, through EVP.
class evp_cipher final : public record_cipher {
public:
  explicit evp_cipher(EVP_CIPHER_CTX* ctx) : ctx_(ctx) {}
  ~evp_cipher() override { EVP_CIPHER_CTX_free(ctx_); }
  evp_cipher(const evp_cipher&) = delete;
  evp_cipher& operator=(const evp_cipher&) = delete;

  bool seal(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
            const unsigned char* data, size_t n, unsigned char type, unsigned char* out,
            unsigned char* tag, std::string& error) override {
    int k = 0;
    bool ok = EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) == 1
              && EVP_EncryptUpdate(ctx_, nullptr, &k, aad, static_cast<int>(aad_size)) == 1
              && EVP_EncryptUpdate(ctx_, out, &k, data, static_cast<int>(n)) == 1
              && EVP_EncryptUpdate(ctx_, out + n, &k, &type, 1) == 1
              && EVP_EncryptFinal_ex(ctx_, out + (n + 1), &k) == 1
              && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, tag_size, tag) == 1;
    if (!ok)
      error = "cannot seal a TLS record: " + openssl_reason("OpenSSL failed");
    return ok;
  }

  bool open(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
            const unsigned char* in, size_t n, unsigned char* out, unsigned char& last,
            const unsigned char* tag) override {
    int k = 0;
    bool ok = EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) == 1
              && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, tag_size,
                                     const_cast<unsigned char*>(tag))
                   == 1
              && EVP_DecryptUpdate(ctx_, nullptr, &k, aad, static_cast<int>(aad_size)) == 1
              && EVP_DecryptUpdate(ctx_, out, &k, in, static_cast<int>(n - 1)) == 1
              && EVP_DecryptUpdate(ctx_, &last, &k, in + n - 1, 1) == 1
              && EVP_DecryptFinal_ex(ctx_, out + (n - 1), &k) == 1;
    if (!ok)
      ERR_clear_error();
    return ok;
  }

private:
  EVP_CIPHER_CTX* ctx_;
};

std::unique_ptr<record_cipher> make_evp(const EVP_CIPHER* cipher, const unsigned char* key,
                                        bool seal, std::string& error) {
  auto* ctx = EVP_CIPHER_CTX_new();
  int enc = seal ? 1 : 0;
  bool ok = ctx != nullptr && EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, enc) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, nonce_size, nullptr) == 1
            && EVP_CipherInit_ex(ctx, nullptr, nullptr, key, nullptr, enc) == 1;
  if (!ok) {
    EVP_CIPHER_CTX_free(ctx);
    error = "cannot key the TLS records: " + openssl_reason("OpenSSL failed");
    return nullptr;
  }
  return std::make_unique<evp_cipher>(ctx);
}

#if MANTA_HAVE_IPSEC_MB

/// The process's intel-ipsec-mb manager, null unless the library picked
/// its AVX-512 code with VAES and VPCLMULQDQ (the case measured faster than
/// libgcrypt; record_cipher.hpp). Only its GCM functions are used: they
/// take the key and the context as arguments and keep no state in the
/// manager, so every thread shares it. It lives as long as the process.
IMB_MGR* ipsec_mb() {
  static IMB_MGR* mgr = []() -> IMB_MGR* {
    IMB_MGR* m = alloc_mb_mgr(0);
    if (m == nullptr)
      return nullptr;
    IMB_ARCH arch = IMB_ARCH_NONE;
    init_mb_mgr_auto(m, &arch);
    constexpr uint64_t wide = IMB_FEATURE_VAES | IMB_FEATURE_VPCLMULQDQ;
    if (imb_get_errno(m) != 0 || arch != IMB_ARCH_AVX512 || (m->features & wide) != wide) {
      free_mb_mgr(m);
      return nullptr;
    }
    return m;
  }();
  return mgr;
}

/// AES-GCM through intel-ipsec-mb (see record_cipher). Its functions check
/// their arguments only for null pointers and lengths past GCM's limits,
/// which the records never pass, and report nothing per call (the error
/// they would set is one for the whole process): sealing cannot fail.
class ipsec_mb_gcm final : public record_cipher {
public:
  ipsec_mb_gcm(IMB_MGR* mgr, bool aes256, const unsigned char* key)
    : init_(aes256 ? mgr->gcm256_init : mgr->gcm128_init),
      encrypt_(aes256 ? mgr->gcm256_enc_update : mgr->gcm128_enc_update),
      decrypt_(aes256 ? mgr->gcm256_dec_update : mgr->gcm128_dec_update),
      seal_tag_(aes256 ? mgr->gcm256_enc_finalize : mgr->gcm128_enc_finalize),
      open_tag_(aes256 ? mgr->gcm256_dec_finalize : mgr->gcm128_dec_finalize),
      state_(std::make_unique<state>()) {
    (aes256 ? mgr->gcm256_pre : mgr->gcm128_pre)(key, &state_->key);
  }

  ~ipsec_mb_gcm() override { OPENSSL_cleanse(state_.get(), sizeof(state)); }
  ipsec_mb_gcm(const ipsec_mb_gcm&) = delete;
  ipsec_mb_gcm& operator=(const ipsec_mb_gcm&) = delete;

  bool seal(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
            const unsigned char* data, size_t n, unsigned char type, unsigned char* out,
            unsigned char* tag, std::string&) override {
    auto& s = *state_;
    init_(&s.key, &s.ctx, nonce, aad, aad_size);
    encrypt_(&s.key, &s.ctx, out, data, n);
    encrypt_(&s.key, &s.ctx, out + n, &type, 1);
    seal_tag_(&s.key, &s.ctx, tag, tag_size);
    return true;
  }

  bool open(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
            const unsigned char* in, size_t n, unsigned char* out, unsigned char& last,
            const unsigned char* tag) override {
    auto& s = *state_;
    // Fails closed: should the library refuse its arguments and write no
    // tag, what it left here does not match.
    unsigned char expected[tag_size];
    for (int i = 0; i < tag_size; ++i)
      expected[i] = static_cast<unsigned char>(~tag[i]);
    init_(&s.key, &s.ctx, nonce, aad, aad_size);
    decrypt_(&s.key, &s.ctx, out, in, n - 1);
    decrypt_(&s.key, &s.ctx, &last, in + n - 1, 1);
    open_tag_(&s.key, &s.ctx, expected, tag_size);
    // The library only computes the tag: compared here in constant time.
    bool ok = CRYPTO_memcmp(expected, tag, tag_size) == 0;
    OPENSSL_cleanse(expected, sizeof(expected));
    return ok;
  }

private:
  /// The expanded key and the record's running state, 64-byte aligned as
  /// the library's vector code wants them.
  struct state {
    gcm_key_data key;
    gcm_context_data ctx;
  };

  aes_gcm_init_t init_;
  aes_gcm_enc_dec_update_t encrypt_;
  aes_gcm_enc_dec_update_t decrypt_;
  aes_gcm_enc_dec_finalize_t seal_tag_;
  aes_gcm_enc_dec_finalize_t open_tag_;
  std::unique_ptr<state> state_;
};

/// The manager if intel-ipsec-mb takes `cipher` (AES-GCM, and the CPU has
/// the wide instructions), else null.
IMB_MGR* ipsec_mb_for(const EVP_CIPHER* cipher) {
  return aes_gcm(cipher) ? ipsec_mb() : nullptr;
}

/// intel-ipsec-mb's AES-GCM for `cipher` if it takes it; null if not.
std::unique_ptr<record_cipher> make_ipsec_mb(const EVP_CIPHER* cipher, const unsigned char* key) {
  IMB_MGR* mgr = ipsec_mb_for(cipher);
  if (mgr == nullptr)
    return nullptr;
  return std::make_unique<ipsec_mb_gcm>(mgr, EVP_CIPHER_get_nid(cipher) == NID_aes_256_gcm, key);
}

#endif

#if MANTA_HAVE_GCRYPT

/// libgcrypt wants its version checked before first use; the data path
/// needs no secure memory (the keys live in ordinary memory in OpenSSL's
/// contexts too). Left alone if the program set libgcrypt up itself.
bool gcrypt_ready() {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] {
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P) == 0) {
      if (gcry_check_version(GCRYPT_VERSION) == nullptr)
        return;
      gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
      gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    ready = true;
  });
  return ready;
}

std::string gcrypt_reason(gcry_error_t e) {
  return std::string{gcry_strsource(e)} + ": " + gcry_strerror(e);
}

/// AES-GCM through libgcrypt (see record_cipher).
class gcrypt_gcm final : public record_cipher {
public:
  explicit gcrypt_gcm(gcry_cipher_hd_t h) : h_(h) {}
  ~gcrypt_gcm() override { gcry_cipher_close(h_); }
  gcrypt_gcm(const gcrypt_gcm&) = delete;
  gcrypt_gcm& operator=(const gcrypt_gcm&) = delete;

  bool seal(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
            const unsigned char* data, size_t n, unsigned char type, unsigned char* out,
            unsigned char* tag, std::string& error) override {
    gcry_error_t e = gcry_cipher_setiv(h_, nonce, nonce_size);
    if (e == 0)
      e = gcry_cipher_authenticate(h_, aad, aad_size);
    if (e == 0)
      e = gcry_cipher_encrypt(h_, out, n, data, n);
    if (e == 0)
      e = gcry_cipher_encrypt(h_, out + n, 1, &type, 1);
    if (e == 0)
      e = gcry_cipher_gettag(h_, tag, tag_size);
    if (e != 0)
      error = "cannot seal a TLS record: " + gcrypt_reason(e);
    return e == 0;
  }

  bool open(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
            const unsigned char* in, size_t n, unsigned char* out, unsigned char& last,
            const unsigned char* tag) override {
    // checktag compares in constant time.
    return gcry_cipher_setiv(h_, nonce, nonce_size) == 0
           && gcry_cipher_authenticate(h_, aad, aad_size) == 0
           && gcry_cipher_decrypt(h_, out, n - 1, in, n - 1) == 0
           && gcry_cipher_decrypt(h_, &last, 1, in + n - 1, 1) == 0
           && gcry_cipher_checktag(h_, tag, tag_size) == 0;
  }

private:
  gcry_cipher_hd_t h_;
};

/// libgcrypt's algorithm for `cipher` if it takes it (AES-GCM, and the
/// library is ready), else 0.
int gcrypt_algo(const EVP_CIPHER* cipher) {
  if (!aes_gcm(cipher) || !gcrypt_ready())
    return 0;
  return EVP_CIPHER_get_nid(cipher) == NID_aes_256_gcm ? GCRY_CIPHER_AES256 : GCRY_CIPHER_AES128;
}

/// libgcrypt's AES-GCM for `cipher` if it takes it; null (no error) if not.
std::unique_ptr<record_cipher> make_gcrypt(const EVP_CIPHER* cipher, const unsigned char* key,
                                           size_t key_size, std::string& error) {
  int algo = gcrypt_algo(cipher);
  if (algo == 0)
    return nullptr;
  gcry_cipher_hd_t h = nullptr;
  gcry_error_t e = gcry_cipher_open(&h, algo, GCRY_CIPHER_MODE_GCM, 0);
  if (e == 0)
    e = gcry_cipher_setkey(h, key, key_size);
  if (e != 0) {
    gcry_cipher_close(h);
    error = "cannot key the TLS records: " + gcrypt_reason(e);
    return nullptr;
  }
  return std::make_unique<gcrypt_gcm>(h);
}

#endif

} // namespace

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

std::unique_ptr<record_cipher> record_cipher::make(const EVP_CIPHER* cipher,
                                                   const unsigned char* key, size_t key_size,
                                                   bool seal, std::string& error) {
  if (EVP_CIPHER_get_iv_length(cipher) != nonce_size
      || static_cast<size_t>(EVP_CIPHER_get_key_length(cipher)) != key_size) {
    error = "the TLS records' cipher is not an AEAD with a 12-byte nonce";
    return nullptr;
  }
#if MANTA_HAVE_IPSEC_MB
  if (auto out = make_ipsec_mb(cipher, key))
    return out;
#endif
#if MANTA_HAVE_GCRYPT
  if (auto out = make_gcrypt(cipher, key, key_size, error); out || !error.empty())
    return out;
#endif
  return make_evp(cipher, key, seal, error);
}

const char* record_cipher::library(const EVP_CIPHER* cipher) {
#if MANTA_HAVE_IPSEC_MB
  if (ipsec_mb_for(cipher) != nullptr)
    return "intel-ipsec-mb";
#endif
#if MANTA_HAVE_GCRYPT
  if (gcrypt_algo(cipher) != 0)
    return "libgcrypt";
#endif
  return "OpenSSL";
}

} // namespace manta::detail
