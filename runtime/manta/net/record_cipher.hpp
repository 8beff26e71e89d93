#pragma once

#include <cstddef>
#include <memory>
#include <string>

using EVP_CIPHER = struct evp_cipher_st;

/// The AEAD under the data path's TLS records (tls_records.hpp): one
/// direction's key, sealing or opening record bodies.
namespace manta::detail {

/// AES-GCM is most of what a TLS read costs (docs/cluster.md, "Throughput
/// against a raw stream"). OpenSSL 3.0's AES-GCM runs on 128-bit registers;
/// libgcrypt 1.10's counter mode uses VAES on 256-bit ones where the CPU
/// has it, about 1.3 times as fast per core on this project's machines, but
/// still hashes (GHASH) 128 bits at a time; intel-ipsec-mb's does both on
/// 512-bit registers where the CPU has AVX-512 with VAES and VPCLMULQDQ,
/// about twice libgcrypt's speed there. So AES-128-GCM and AES-256-GCM
/// records go to intel-ipsec-mb where the build found it and the CPU has
/// those, else to libgcrypt where the build found it; everything else
/// (ChaCha20-Poly1305, or any suite in a build with neither) to OpenSSL's
/// EVP. All compute the same AEAD (RFC 5116): the records are the same
/// bytes.
class record_cipher {
public:
  /// A context for `cipher` (a TLS 1.3 AEAD with a 12-byte nonce and a
  /// 16-byte tag) keyed with [key, key + key_size): it seals if `seal`, else
  /// opens. Null with `error` set if the library refuses the key.
  static std::unique_ptr<record_cipher> make(const EVP_CIPHER* cipher, const unsigned char* key,
                                             size_t key_size, bool seal, std::string& error);

  /// The library that seals and opens `cipher`'s records in this process
  /// ("intel-ipsec-mb", "libgcrypt" or "OpenSSL"), as `make` picks it: the
  /// benchmarks print it beside their figures.
  static const char* library(const EVP_CIPHER* cipher);

  virtual ~record_cipher() = default;

  /// Encrypts [data, data + n), then the byte `type`, into `out` (n + 1
  /// bytes) under `nonce` with `aad` authenticated, and writes the 16-byte
  /// tag to `tag`. False with `error` set if the library failed.
  virtual bool seal(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
                    const unsigned char* data, size_t n, unsigned char type, unsigned char* out,
                    unsigned char* tag, std::string& error) = 0;

  /// Decrypts [in, in + n) (n >= 1) under `nonce`: all but its last byte
  /// into `out`, the last into `last`; true only if `tag` authenticates it
  /// and `aad`. `out` may have been written even when it does not.
  virtual bool open(const unsigned char* nonce, const unsigned char* aad, size_t aad_size,
                    const unsigned char* in, size_t n, unsigned char* out, unsigned char& last,
                    const unsigned char* tag) = 0;
};

/// OpenSSL's queued reasons for its last failure, or `fallback` (the error
/// texts of record_cipher, tls_records and transport).
std::string openssl_reason(const char* fallback);

} // namespace manta::detail
