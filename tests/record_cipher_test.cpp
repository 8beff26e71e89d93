// The AEAD under the data path's TLS records (runtime/manta/net/record_cipher.hpp),
// intel-ipsec-mb's or libgcrypt's AES-GCM where the build and the CPU have
// them, against OpenSSL's EVP as the
// reference: what one seals the other opens, byte for byte, for every TLS
// 1.3 suite and record sizes around the block and record limits, and a
// record changed anywhere (body, type byte, tag, header, nonce) does not open.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN

#include <doctest/doctest.h>
#include <manta/net/record_cipher.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <string>
#include <vector>

using manta::detail::record_cipher;

namespace {

using bytes = std::vector<unsigned char>;

bytes random_bytes(size_t n) {
  bytes out(n);
  REQUIRE(RAND_bytes(out.data(), static_cast<int>(n)) == 1);
  return out;
}

/// OpenSSL's EVP in one call: the reference record_cipher must agree with.
bool evp_aead(const EVP_CIPHER* cipher, bool seal, const bytes& key, const bytes& nonce,
              const bytes& aad, const bytes& in, bytes& out, bytes& tag) {
  auto* ctx = EVP_CIPHER_CTX_new();
  int k = 0;
  int enc = seal ? 1 : 0;
  out.assign(in.size(), 0);
  bool ok = EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, enc) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1
            && EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data(), enc) == 1
            && (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag.data()) == 1)
            && EVP_CipherUpdate(ctx, nullptr, &k, aad.data(), static_cast<int>(aad.size())) == 1
            && EVP_CipherUpdate(ctx, out.data(), &k, in.data(), static_cast<int>(in.size())) == 1
            && EVP_CipherFinal_ex(ctx, out.data() + in.size(), &k) == 1
            && (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) == 1);
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

struct suite {
  const char* name;
  const EVP_CIPHER* cipher;
};

std::vector<suite> suites() {
  return {{"AES-128-GCM", EVP_aes_128_gcm()},
          {"AES-256-GCM", EVP_aes_256_gcm()},
          {"ChaCha20-Poly1305", EVP_chacha20_poly1305()}};
}

const size_t sizes[] = {0, 1, 15, 16, 17, 255, 4095, 4096, 16383, 16384};

/// Runs `check(s, key, cipher, n, nonce, aad)` for every suite `s` and
/// record size `n`: `cipher` seals (if `seal`) or opens under a random
/// `key` of the suite, and each record has a random nonce and header.
template <class Check>
void for_each_record(bool seal, Check check) {
  for (auto& s : suites()) {
    auto key = random_bytes(static_cast<size_t>(EVP_CIPHER_get_key_length(s.cipher)));
    std::string error;
    auto cipher = record_cipher::make(s.cipher, key.data(), key.size(), seal, error);
    REQUIRE_MESSAGE(cipher, s.name << ": " << error);
    for (auto n : sizes) {
      CAPTURE(s.name);
      CAPTURE(n);
      auto nonce = random_bytes(12);
      auto aad = random_bytes(5);
      check(s, key, *cipher, n, nonce, aad);
    }
  }
}

} // namespace

TEST_CASE("what record_cipher seals OpenSSL opens, with the same bytes and tag") {
  for_each_record(true, [](const suite& s, const bytes& key, record_cipher& sealer, size_t n,
                           const bytes& nonce, const bytes& aad) {
    auto data = random_bytes(n);
    const unsigned char type = 23;
    bytes sealed(n + 1);
    bytes tag(16);
    std::string error;
    REQUIRE(sealer.seal(nonce.data(), aad.data(), aad.size(), data.data(), n, type, sealed.data(),
                        tag.data(), error));
    // The reference seals content and type as one plaintext.
    bytes plain = data;
    plain.push_back(type);
    bytes expected;
    bytes expected_tag(16);
    REQUIRE(evp_aead(s.cipher, true, key, nonce, aad, plain, expected, expected_tag));
    CHECK(sealed == expected);
    CHECK(tag == expected_tag);
    bytes opened;
    CHECK(evp_aead(s.cipher, false, key, nonce, aad, sealed, opened, tag));
    CHECK(opened == plain);
  });
}

TEST_CASE("record_cipher opens what OpenSSL seals, and nothing changed") {
  for_each_record(false, [](const suite& s, const bytes& key, record_cipher& opener, size_t n,
                            const bytes& nonce, const bytes& aad) {
    auto plain = random_bytes(n + 1); // content, then its type byte
    bytes sealed;
    bytes tag(16);
    REQUIRE(evp_aead(s.cipher, true, key, nonce, aad, plain, sealed, tag));
    bytes out(n);
    unsigned char last = 0;
    REQUIRE(opener.open(nonce.data(), aad.data(), aad.size(), sealed.data(), n + 1, out.data(),
                        last, tag.data()));
    CHECK(std::memcmp(out.data(), plain.data(), n) == 0);
    CHECK(last == plain[n]);
    // One bit flipped in the body (first and last byte), the tag, the
    // header or the nonce: the record does not open.
    auto refused = [&](bytes b, bytes t, bytes a, bytes iv) {
      return !opener.open(iv.data(), a.data(), a.size(), b.data(), b.size(), out.data(), last,
                          t.data());
    };
    auto flip = [](bytes b, size_t at) {
      b[at] ^= 1;
      return b;
    };
    CHECK(refused(flip(sealed, 0), tag, aad, nonce));
    CHECK(refused(flip(sealed, n), tag, aad, nonce));
    CHECK(refused(sealed, flip(tag, 15), aad, nonce));
    CHECK(refused(sealed, tag, flip(aad, 3), nonce));
    CHECK(refused(sealed, tag, aad, flip(nonce, 11)));
    // And the context still opens the next good record.
    CHECK(opener.open(nonce.data(), aad.data(), aad.size(), sealed.data(), n + 1, out.data(), last,
                      tag.data()));
  });
}

TEST_CASE("record_cipher names the library that takes each suite") {
  // ChaCha20-Poly1305 is OpenSSL's alone; AES-GCM goes to the fastest
  // library the build and the CPU have (the tests above ran on it).
  CHECK(std::string{record_cipher::library(EVP_chacha20_poly1305())} == "OpenSSL");
  for (auto& s : suites()) {
    std::string library = record_cipher::library(s.cipher);
    MESSAGE((std::string{s.name} + " by " + library));
    CHECK((library == "intel-ipsec-mb" || library == "libgcrypt" || library == "OpenSSL"));
  }
}

TEST_CASE("record_cipher refuses a key of the wrong length") {
  std::string error;
  unsigned char key[32] = {};
  CHECK_FALSE(record_cipher::make(EVP_aes_128_gcm(), key, 32, true, error));
  CHECK(!error.empty());
}
