#include "manta/net/task_lane_tls.hpp"

#include "manta/net/tls_records.hpp"
#include "manta/net/tls_session.hpp"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace manta::detail::task_lane {

namespace {

using steady = std::chrono::steady_clock;

/// Waits until `fd` is ready as `r` asks, until `deadline` (or for ever
/// with none); false if that passed.
bool wait_ready(int fd, tls_session::result r, const steady::time_point* deadline) {
  short events = r == tls_session::want_write ? POLLOUT : POLLIN;
  for (;;) {
    int ms = -1;
    if (deadline != nullptr) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - steady::now());
      if (left.count() <= 0)
        return false;
      ms = static_cast<int>(left.count());
    }
    pollfd p{fd, events, 0};
    auto k = ::poll(&p, 1, ms);
    if (k > 0)
      return true; // ready, or hung up / failed: the next step says which
    if (k < 0 && errno != EINTR)
      return false;
  }
}

} // namespace

std::string tls_handshake(tls_session& tls, int fd, int timeout_ms) {
  auto deadline = steady::now() + std::chrono::milliseconds{timeout_ms};
  for (;;) {
    auto r = tls.handshake();
    if (r == tls_session::done)
      return "";
    if (r == tls_session::failed)
      return tls.read_error();
    if (!wait_ready(fd, r, &deadline))
      return "no answer within " + std::to_string(timeout_ms) + " ms";
  }
}

bool write_sealed(tls_session& tls, int fd, std::span<const std::span<const char>> parts,
                  int timeout_ms, std::vector<char>& staging) {
  auto deadline = steady::now() + std::chrono::milliseconds{timeout_ms};
  size_t total = 0;
  for (auto& p : parts)
    total += p.size();
  std::span<const char> one[1];
  if (parts.size() > 1 && total <= tls_records::max_content) {
    // A spec or an answer of a few hundred bytes: one record, not one per
    // part (each costs a header, a tag and a pass of the cipher).
    staging.clear();
    for (auto& p : parts)
      staging.insert(staging.end(), p.begin(), p.end());
    one[0] = std::span<const char>{staging.data(), staging.size()};
    parts = one;
  }
  for (auto& p : parts) {
    size_t at = 0;
    while (at < p.size()) {
      size_t written = 0;
      auto r = tls.write(p.data() + at, p.size() - at, written);
      at += written;
      if (r == tls_session::failed)
        return false;
      if (r != tls_session::done && !wait_ready(fd, r, &deadline))
        return false;
    }
  }
  for (;;) {
    auto r = tls.flush();
    if (r == tls_session::done)
      return true;
    if (r == tls_session::failed || !wait_ready(fd, r, &deadline))
      return false;
  }
}

bool read_opened(tls_session& tls, int fd, char* p, size_t n) {
  while (n > 0) {
    size_t got = 0;
    auto r = tls.read(p, n, got);
    if (r == tls_session::failed)
      return false;
    p += got;
    n -= got;
    if (r != tls_session::done && !wait_ready(fd, r, nullptr))
      return false;
  }
  return true;
}

} // namespace manta::detail::task_lane
