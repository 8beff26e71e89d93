#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>

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

/// Makes blocking reads and writes on `s` fail after `t` without progress.
inline void set_timeouts(tcp::socket& s, std::chrono::seconds t) {
  timeval tv{static_cast<time_t>(t.count()), 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

} // namespace manta::detail::transfer_protocol
