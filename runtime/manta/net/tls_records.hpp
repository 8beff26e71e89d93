#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

using SSL = struct ssl_st;
using EVP_CIPHER = struct evp_cipher_st;
using EVP_MD = struct evp_md_st;

/// TLS 1.3 application data records (RFC 8446 section 5.2) sealed and
/// opened by the data path itself once OpenSSL's handshake is over
/// (tls_session.hpp), with the traffic keys that handshake agreed on.
namespace manta::detail {

class record_cipher;

/// OpenSSL's record layer decrypts each record into a buffer of its own and
/// copies it out, and encrypts into one it then hands to the BIO: with the
/// socket's buffer that made three copies of every byte in user space on
/// top of the encryption, nearly three times plain TCP's CPU per byte. Here
/// a sender encrypts from the object straight into its send buffer and a
/// reader decrypts from its receive buffer straight into the object, so TLS
/// costs plain TCP's copies plus AES-GCM and nothing more. The records on
/// the wire are the same TLS 1.3 records OpenSSL writes (the tests read them
/// with OpenSSL's own record layer).
class tls_records {
public:
  static constexpr size_t header_size = 5;
  static constexpr size_t tag_size = 16;
  /// The most content one record carries (2^14, RFC 8446 section 5.1).
  static constexpr size_t max_content = 16384;
  /// The largest record a peer may send: 256 bytes of padding and tag
  /// beyond the content (section 5.2).
  static constexpr size_t max_record = header_size + max_content + 256;
  /// What sealing adds to the content: header, content type, tag.
  static constexpr size_t overhead = header_size + 1 + tag_size;

  enum content_type : uint8_t { alert = 21, handshake = 22, application_data = 23 };

  /// The keys of `ssl`, whose handshake is done, from the traffic secrets
  /// of both sides (captured by `capture_traffic_secret`); null with
  /// `error` set if its cipher suite is not an AEAD OpenSSL knows.
  static std::unique_ptr<tls_records> make(SSL* ssl, bool server, const std::string& client_secret,
                                           const std::string& server_secret, std::string& error);

  /// The keys TLS 1.3 derives (RFC 8446 section 7.3) from the two traffic
  /// secrets of a session that agreed on `cipher` (an AEAD with a 12-byte
  /// IV) and hash `md`: `mine` seals, `theirs` opens. What `make` does once
  /// it has checked the session; the fuzz target (tests/fuzz/net_targets.hpp)
  /// makes both ends of a connection with it, without a handshake.
  static std::unique_ptr<tls_records> from_secrets(const EVP_CIPHER* cipher, const EVP_MD* md,
                                                   const std::string& mine,
                                                   const std::string& theirs, std::string& error);

  ~tls_records();
  tls_records(const tls_records&) = delete;
  tls_records& operator=(const tls_records&) = delete;

  /// Seals [data, data + n) (n <= max_content) as one application data
  /// record at `out`, which has room for n + overhead bytes; false (see
  /// `error`) if OpenSSL failed or the key's record limit is reached.
  bool seal(const char* data, size_t n, char* out);

  /// The size of the record that starts at `head` (header_size bytes), or 0
  /// with `error` set if the header is no TLS 1.3 record or announces more
  /// than max_record bytes.
  size_t record_size(const char* head);

  /// Opens the whole record [in, in + size) into `out`, which has room for
  /// size - header_size - tag_size - 1 bytes: `content` and `type` are
  /// its content's length and type. False (see `error`) if it does not
  /// authenticate, has no content type, or carries more than max_content;
  /// `out` then holds garbage the caller must not use.
  bool open(const char* in, size_t size, char* out, size_t& content, uint8_t& type);

  /// Records sealed or opened with either key so far, whichever is more.
  uint64_t records() const noexcept { return seal_seq_ > open_seq_ ? seal_seq_ : open_seq_; }
  /// Each direction's own count: a task lane reads them on the thread that
  /// seals, or opens (task_lane.cpp, `client`).
  uint64_t sealed() const noexcept { return seal_seq_; }
  uint64_t opened() const noexcept { return open_seq_; }

  /// What failed last: opening (or reading a header), else sealing.
  const std::string& error() const noexcept { return error_.empty() ? seal_error_ : error_; }
  /// Each direction's own: a task lane seals on one thread while another
  /// opens (task_lane_tls.hpp), so neither writes the other's.
  const std::string& open_error() const noexcept { return error_; }
  const std::string& seal_error() const noexcept { return seal_error_; }

  /// A key seals at most this many records (AES-GCM's bound is 2^24.5,
  /// RFC 8446 section 5.5); the data path retires a connection after
  /// half of it (`retire_after`), between requests.
  static constexpr uint64_t max_records = uint64_t{1} << 24;
  static constexpr uint64_t retire_after = max_records / 2;

private:
  tls_records() = default;

  /// The nonce of record `seq`: the write IV xor the sequence number.
  void nonce(const unsigned char* iv, uint64_t seq, unsigned char* out) const;

  /// AES-GCM through libgcrypt where the build has it (record_cipher.hpp).
  std::unique_ptr<record_cipher> sealer_;
  std::unique_ptr<record_cipher> opener_;
  unsigned char seal_iv_[12] = {};
  unsigned char open_iv_[12] = {};
  uint64_t seal_seq_ = 0;
  uint64_t open_seq_ = 0;
  std::string error_;      ///< opening, headers
  std::string seal_error_; ///< sealing
};

} // namespace manta::detail
