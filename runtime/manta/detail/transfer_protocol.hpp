#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include <sys/socket.h>
#include <sys/time.h>

/// The messages of the raw data path (the format is in object_transfer.hpp),
/// shared by the transfer server and the readers (object_fetch.hpp).
namespace manta::detail::transfer_protocol {

using tcp = boost::asio::ip::tcp;

constexpr uint32_t magic = 0x3158544d; // "MTX1" little-endian
constexpr uint32_t max_token = 4096;

enum status : uint32_t { ok = 0, not_here = 1, refused_status = 2 };

struct request {
  uint32_t magic;
  uint32_t token_len;
  uint64_t id;
  uint64_t offset;
  uint64_t length;
};

struct answer {
  uint32_t status;
  uint32_t message_len;
  uint64_t length;
};

static_assert(sizeof(request) == 32 && sizeof(answer) == 16);

/// Reads and checks the fixed part of a request, the first bytes a peer
/// sends (before its token): "" and `out` set if `bytes` hold a request of
/// this protocol whose token fits `max_token` and whose range ends below
/// 2^64, else why not. Pure, so the fuzzer drives it (tests/fuzz).
inline std::string parse_request(std::span<const char> bytes, request& out) {
  if (bytes.size() != sizeof(request))
    return "a request header is " + std::to_string(sizeof(request)) + " bytes, not "
           + std::to_string(bytes.size());
  std::memcpy(&out, bytes.data(), sizeof(request));
  if (out.magic != magic)
    return "not a Manta object request";
  if (out.token_len > max_token)
    return "a token of " + std::to_string(out.token_len) + " bytes (at most "
           + std::to_string(max_token) + ")";
  if (out.offset + out.length < out.offset)
    return "a range past the end of any object";
  return {};
}

/// Makes blocking reads and writes on `s` fail after `t` without progress.
inline void set_timeouts(tcp::socket& s, std::chrono::seconds t) {
  timeval tv{static_cast<time_t>(t.count()), 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

} // namespace manta::detail::transfer_protocol
