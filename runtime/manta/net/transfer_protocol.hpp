#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

/// The messages of the raw data path (the format is in object_transfer.hpp),
/// shared by the transfer server and the readers (object_fetch.hpp).
namespace manta::detail::transfer_protocol {

constexpr uint32_t magic = 0x3158544d; // "MTX1" little-endian
/// The longest token a request may announce (a cluster token is 64 hex
/// digits): the server reads the token into a buffer of this size, so a
/// header announcing 4 GiB allocates nothing.
constexpr uint32_t max_token = 4096;
/// The most bytes one request may ask for (readers ask for 4 MiB chunks),
/// so that one answer is bounded too.
constexpr uint64_t max_request_bytes = uint64_t{64} << 20;
/// The longest message an answer may carry; a reader takes a longer one for
/// a broken peer.
constexpr uint32_t max_message = 4096;

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

/// Why the server refuses request header `r` before reading anything more
/// of it, or nullptr if it may go on (read the token, then serve).
inline const char* check(const request& r) noexcept {
  if (r.magic != magic)
    return "not a Manta object request";
  if (r.token_len == 0 || r.token_len > max_token)
    return "the request announces a token of a wrong length";
  if (r.length > max_request_bytes)
    return "the request asks for more than 64 MiB at once";
  if (r.offset > UINT64_MAX - r.length)
    return "the request's byte range overflows";
  return nullptr;
}

/// Reads the fixed part of a request from the first bytes a peer sends and
/// checks it (`check`): "" with `out` set, else why not. Pure, so the
/// fuzzer drives it (tests/fuzz).
inline std::string parse_request(std::span<const char> bytes, request& out) {
  if (bytes.size() != sizeof(request))
    return "a request header is " + std::to_string(sizeof(request)) + " bytes, not "
           + std::to_string(bytes.size());
  std::memcpy(&out, bytes.data(), sizeof(request));
  auto why = check(out);
  return why != nullptr ? why : "";
}

} // namespace manta::detail::transfer_protocol
